"""Stripe's form encoding: ``a[b][0][c]=v``, ``a[]=v`` and ``expand[0]=x``, parsed into nested dicts.

Indexes stay dict keys here (``{"0": …}``); the parameter schema (params.py) turns them into lists where
the SDK declares a list, so an unexpected shape is reported against the right parameter.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from sandbox import limits

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class EncodingError(ValueError):
    def __init__(self, key: str, message: str = "", *, code: str | None = None):
        super().__init__(message or f"Invalid parameter name: {key[:100]}")
        self.key = key[:100]
        self.code = code


def split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise EncodingError(key)
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > limits.MAX_NESTING:
        raise EncodingError(key, f"Invalid parameter name: {key[:100]}: nested too deeply")
    return parts


def parse_form(body: str) -> dict:
    """Parse an urlencoded body or query string into nested dicts (``a[]`` appends)."""
    result: dict = {}
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=limits.MAX_FIELDS)
    except ValueError:
        raise EncodingError(
            "", f"Too many parameters: a request can have up to {limits.MAX_FIELDS}."
        ) from None
    for raw_key, value in pairs:
        if "\x00" in raw_key or "\x00" in value:
            # PostgreSQL cannot store NUL in text or JSON: refused here, for every parameter at once.
            raise EncodingError(
                raw_key,
                f"Invalid characters in {raw_key[:100]}: NUL is not allowed.",
                code="invalid_characters",
            )
        parts = split_key(raw_key)
        node = result
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            if part == "":
                # ``a[]``: the next free index, so ``a[]=x&a[]=y`` reads like ``a[0]=x&a[1]=y``.
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    # A scalar given earlier for the same name is overridden by the nested form.
                    child = node[part] = {}
                node = child
    return result


def param_name(path: list[str]) -> str:
    """``["line_items", "0", "price"]`` → ``line_items[0][price]``, as Stripe names params in errors."""
    head, *rest = path
    return head + "".join(f"[{part}]" for part in rest)

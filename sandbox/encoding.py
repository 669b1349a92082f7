"""Stripe's form encoding: ``a[b][0][c]=v``, ``a[]=v`` and ``expand[0]=x``, parsed into nested dicts.

Indexes stay dict keys here (``{"0": …}``); the parameter schema (params.py) turns them into lists where
the SDK declares a list, so an unexpected shape is reported against the right parameter.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class EncodingError(ValueError):
    def __init__(self, key: str):
        super().__init__(f"Invalid parameter name: {key}")
        self.key = key


def split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise EncodingError(key)
    return [match.group(1), *_PART.findall(match.group(2))]


def parse_form(body: str) -> dict:
    """Parse an urlencoded body or query string into nested dicts (``a[]`` appends)."""
    result: dict = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
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

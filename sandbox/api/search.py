"""``GET /v1/products/search`` and ``/v1/prices/search``: a subset of Stripe's search query language.

Supported: clauses joined by ``AND`` or by ``OR`` (not mixed, as on Stripe), each ``field:'value'`` (exact),
``field~'value'`` (substring, at least 3 characters), ``-field:'value'`` (negation),
``metadata['key']:'value'``, and ``created``/numeric fields with ``>``, ``>=``, ``<``, ``<=``. Values
are quoted strings, or numbers and booleans unquoted. Pages use an opaque ``page`` token (``next_page``).
"""

from __future__ import annotations

import base64
import re

from stripe.params import PriceSearchParams, ProductSearchParams

from sandbox import errors, store
from sandbox.models import ApiObject
from sandbox.params import validate

_CLAUSE = re.compile(
    r"""^(?P<neg>-)?(?P<field>metadata\['[^']+'\]|[a-z_.]+)\s*(?P<op>:|~|>=|<=|>|<)\s*(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s]+)$"""
)
_RANGE = (">", ">=", "<", "<=")
FIELDS = {
    "product": {"active", "description", "name", "shippable", "url", "created", "type", "id"},
    "price": {
        "active",
        "currency",
        "lookup_key",
        "product",
        "type",
        "created",
        "id",
        "unit_amount",
        "nickname",
    },
}


def _parse(query: str, kind: str) -> tuple[str, list[dict]]:
    parts = re.split(r"\s+(AND|OR)\s+", query.strip())
    joiners = set(parts[1::2])
    if len(joiners) > 1:
        raise errors.invalid("query", "Stripe search does not support mixing AND and OR in one query.")
    clauses = []
    for text in parts[0::2]:
        match = _CLAUSE.match(text.strip())
        if not match:
            raise errors.invalid("query", f"The query is invalid near '{text}'.")
        field = match["field"]
        if not field.startswith("metadata[") and field not in FIELDS[kind]:
            raise errors.invalid("query", f"Field '{field}' is not supported for search on {kind}s.")
        raw = match["value"]
        value = raw[1:-1] if raw[:1] in "'\"" else {"true": True, "false": False}.get(raw, raw)
        if isinstance(value, str) and raw[:1] not in "'\"":
            try:
                value = int(value)
            except ValueError:
                raise errors.invalid("query", f"Values must be quoted: {raw}") from None
        if match["op"] == "~" and len(str(value)) < 3:
            raise errors.invalid("query", "Substring matching needs at least 3 characters.")
        if match["op"] in _RANGE and (isinstance(value, bool) or not isinstance(value, int)):
            raise errors.invalid("query", f"The {match['op']} operator compares numbers only, not {raw}.")
        clauses.append({"neg": bool(match["neg"]), "field": field, "op": match["op"], "value": value})
    return (joiners.pop() if joiners else "AND"), clauses


def _get(data: dict, field: str):
    if field.startswith("metadata["):
        return data["metadata"].get(field[len("metadata['") : -2])
    return data.get(field)


def _matches(data: dict, clause: dict) -> bool:
    actual, value, op = _get(data, clause["field"]), clause["value"], clause["op"]
    if op == ":":
        # Booleans and numbers compare by their text, so active:'true' and active:true both match.
        result = str(actual).lower() == str(value).lower() if actual is not None else False
    elif op == "~":
        result = isinstance(actual, str) and str(value).lower() in actual.lower()
    elif isinstance(actual, bool) or not isinstance(actual, int | float):
        result = False  # a range on a text field (name>5) matches nothing rather than failing
    else:
        result = {">": actual > value, ">=": actual >= value, "<": actual < value, "<=": actual <= value}[op]
    return result != clause["neg"]


def _search(raw: dict, *, kind: str, params_cls: type, url: str) -> dict:
    params = validate(raw, params_cls)
    joiner, clauses = _parse(params["query"], kind)
    combine = all if joiner == "AND" else any
    limit = params.get("limit", 10)
    if not 1 <= limit <= store.MAX_LIST_LIMIT:
        raise errors.invalid("limit", f"Invalid limit: must be between 1 and {store.MAX_LIST_LIMIT}")
    offset = _page_offset(params.get("page"))
    queryset = ApiObject.objects.filter(type=kind).order_by("-seq")
    if kind == "price":
        queryset = queryset.filter(data___inline=False)
    found = [obj for obj in queryset if combine(_matches(obj.data, c) for c in clauses)]
    page = found[offset : offset + limit]
    has_more = offset + limit < len(found)
    expand = [p.removeprefix("data.") for p in params.get("expand", []) if p.startswith("data.")]
    return {
        "object": "search_result",
        "data": [store.render(obj, expand=expand) for obj in page],
        "has_more": has_more,
        "next_page": base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if has_more else None,
        "url": url,
    }


def _page_offset(token: str | None) -> int:
    """The offset a ``next_page`` token carries; any other token is Stripe's 400 on ``page``."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError
        text = ""
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise errors.invalid("page", f"Invalid page: {token[:40]}")
    return int(text)


def product_search(request, raw: dict) -> dict:
    return _search(raw, kind="product", params_cls=ProductSearchParams, url="/v1/products/search")


def price_search(request, raw: dict) -> dict:
    return _search(raw, kind="price", params_cls=PriceSearchParams, url="/v1/prices/search")

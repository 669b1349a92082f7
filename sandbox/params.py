"""Request parameters checked against the SDK's own ``*Params`` TypedDicts.

The installed ``stripe`` package declares every create/update/list parameter (names, nesting, required
keys, scalar types, enums and whether ``""`` may unset). Walking those types gives Stripe's errors for
free: ``parameter_unknown``, ``parameter_missing``, ``parameter_invalid_integer``, empty strings where
they cannot unset, and enum values. Endpoint code then applies only the business rules.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import types
import typing
from decimal import Decimal, InvalidOperation

import typing_extensions
from stripe._request_options import RequestOptions

from sandbox import errors, limits
from sandbox.encoding import param_name

# The SDK's RequestOptions are client options (api_key, idempotency_key…), never sent as parameters.
_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
_NOT_REQUIRED = (typing.NotRequired, typing_extensions.NotRequired)
_INTEGER = re.compile(r"-?[0-9]+")
# ``ProductCreateParams`` → ``Product``: the resource whose limits (limits.RESOURCE_STRINGS) apply.
_RESOURCE = re.compile(
    r"^(?P<name>[A-Z][A-Za-z]*?)(?:Create|Update|List|Retrieve|Delete|Search|Expire|Capture)"
)


def _resolve(tp, module_globals: dict):
    if isinstance(tp, str):
        return _resolve(eval(tp, module_globals), module_globals)  # noqa: S307 - SDK type strings only
    if isinstance(tp, typing.ForwardRef):
        return _resolve(eval(tp.__forward_arg__, module_globals), module_globals)  # noqa: S307
    return tp


@functools.cache
def fields_of(params_cls: type) -> tuple[dict, frozenset]:
    """Return ``({name: type}, required names)`` of a TypedDict, RequestOptions keys left out."""
    module_globals = vars(sys.modules[params_cls.__module__])
    hints = {}
    for klass in reversed(params_cls.__mro__):
        for name, tp in klass.__dict__.get("__annotations__", {}).items():
            if name not in _OPTION_KEYS:
                hints[name] = tp
    required = set()
    resolved = {}
    for name, tp in hints.items():
        tp = _resolve(tp, module_globals)
        if typing_extensions.get_origin(tp) in _NOT_REQUIRED:
            tp = _resolve(typing_extensions.get_args(tp)[0], module_globals)
        else:
            required.add(name)
        resolved[name] = (tp, module_globals)
    return resolved, frozenset(required)


def _is_untyped_object(tp) -> bool:
    """The SDK's ``UntypedStripeObject[X]``: a map of X, like ``Dict[str, X]``."""
    target = typing_extensions.get_origin(tp) or tp
    return getattr(target, "__name__", "") == "UntypedStripeObject"


def _is_typeddict(tp) -> bool:
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def _union_args(tp) -> tuple:
    if typing_extensions.get_origin(tp) in (typing.Union, types.UnionType):
        return typing_extensions.get_args(tp)
    return (tp,)


def validate(raw: dict, params_cls: type, *, path: list[str] | None = None, resource: str = "") -> dict:
    """Check ``raw`` (from encoding.parse_form) against ``params_cls`` and Stripe's limits (limits.py);
    return typed values.

    ``""`` is kept as ``""`` where the SDK allows it (meaning "unset"); handlers map it to null.
    """
    path = path or []
    if not path:
        match = _RESOURCE.match(params_cls.__name__)
        resource = match["name"] if match else ""
    fields, required = fields_of(params_cls)
    result = {}
    for name, value in raw.items():
        if name not in fields:
            raise errors.unknown(param_name([*path, name]))
        tp, module_globals = fields[name]
        result[name] = _coerce(value, tp, module_globals, [*path, name], resource)
    for name in sorted(required - raw.keys()):
        raise errors.missing(param_name([*path, name]))
    return result


def _empty_allowed(options: tuple) -> bool:
    return any(
        typing_extensions.get_origin(o) is typing.Literal and "" in typing_extensions.get_args(o)
        for o in options
    )


def _coerce(value, tp, module_globals: dict, path: list[str], resource: str):
    name = param_name(path)
    options = tuple(_resolve(o, module_globals) for o in _union_args(tp))
    if value == "":
        if _empty_allowed(options) or _is_metadata(options):
            return ""
        raise errors.invalid(
            name,
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a "
            f"parameter; however '{name}' cannot be unset. You should remove '{name}' from your request or "
            "supply a non-empty value.",
            code="parameter_invalid_empty",
        )
    options = tuple(o for o in options if not _is_empty_literal(o))
    if str in options and any(typing_extensions.get_origin(o) is typing.Literal for o in options):
        # The SDK types enums as ``Literal[...] | str`` for forward compatibility; the API enforces them.
        options = tuple(o for o in options if o is not str)
    last_error = None
    for option in options:
        try:
            return _coerce_one(value, option, module_globals, path, resource)
        except errors.ApiError as exc:
            if exc.code in ("parameter_unknown", "parameter_missing") or len(options) == 1:
                raise
            # The most specific failure (``created[gt]`` rather than ``created``) says what to fix.
            if last_error is None or len(exc.param or "") >= len(last_error.param or ""):
                last_error = exc
    raise last_error or errors.invalid(name, f"Invalid value for {name}.")


def _is_empty_literal(tp) -> bool:
    return typing_extensions.get_origin(tp) is typing.Literal and typing_extensions.get_args(tp) == ("",)


def _is_metadata(options: tuple) -> bool:
    return any(typing_extensions.get_origin(o) in (dict, dict) or _is_untyped_object(o) for o in options)


def _coerce_one(value, tp, module_globals: dict, path: list[str], resource: str):
    name = param_name(path)
    origin = typing_extensions.get_origin(tp)
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            raise errors.invalid(name, f"Invalid object: {name} must be a hash.")
        return validate(value, tp, path=path, resource=resource)
    if origin in (list, list):
        (item_tp,) = typing_extensions.get_args(tp)
        items = _as_list(value, name)
        return [
            _coerce(item, item_tp, module_globals, [*path, str(i)], resource) for i, item in enumerate(items)
        ]
    if origin in (dict, dict) or _is_untyped_object(tp):
        if not isinstance(value, dict):
            raise errors.invalid(name, f"Invalid hash: {name} must be a hash.")
        args = typing_extensions.get_args(tp)
        value_tp = _resolve(args[-1], module_globals) if args else None
        if path[-1] == "currency_options":
            for key in value:
                _check_currency(key, param_name([*path, key]))
        if value_tp is not None and _is_typeddict(value_tp):
            # A map of objects (``currency_options[eur][unit_amount]``): each value has its own schema.
            return {
                key: _coerce(item, value_tp, module_globals, [*path, key], resource)
                for key, item in value.items()
            }
        return value
    if isinstance(value, dict):
        raise errors.invalid(name, f"Invalid {name}: expected a scalar value, got a hash.")
    if origin is typing.Literal:
        allowed = typing_extensions.get_args(tp)
        if value not in allowed:
            raise errors.invalid(name, f"Invalid {name}: must be one of {', '.join(map(str, allowed))}")
        return value
    if tp is bool:
        if value not in ("true", "false"):
            raise errors.invalid(name, f"Invalid boolean: {value}")
        return value == "true"
    if tp is int:
        return _integer(value, name, path, resource)
    if tp is float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        # Past a 64-bit integer's range too: PostgreSQL's jsonb keeps 1e30 as the integer 10**30, which
        # reads back as a Python int that no answer can be rendered with (orjson takes 64 bits).
        if not math.isfinite(number) or abs(number) > limits.MAX_INTEGER:
            raise errors.invalid(name, f"Invalid decimal: {_shown(value)}")
        return number
    if tp is Decimal:
        return _decimal(value, name, path)
    return _string(value, name, path, resource)


def _shown(value: str) -> str:
    """A value as error messages quote it: long ones cut, like Stripe's ``Lottery Re...iting line``."""
    return value if len(value) <= 40 else f"{value[:10]}...{value[-10:]}"


def _integer(value: str, name: str, path: list[str], resource: str) -> int:
    # Digits only: Python's int() would also take "1_000", " 7" and non-ASCII digits.
    if not _INTEGER.fullmatch(value) or len(value) > 20 or abs(int(value)) > limits.MAX_INTEGER:
        raise errors.invalid(name, f"Invalid integer: {_shown(value)}", code="parameter_invalid_integer")
    number = int(value)
    if limits.matches(path, limits.AMOUNTS):
        _check_amount(number, name)
    elif number > limits.MAX_COUNT and limits.matches(path, limits.COUNTS):
        raise errors.invalid(
            name,
            f"Invalid integer: {value}; must be at most {limits.MAX_COUNT}",
            code="parameter_invalid_integer",
        )
    if tuple(path) in limits.FUTURE_TIMESTAMPS.get(resource, ()):
        from sandbox import clock  # the sandbox's own time, which expiry is checked against

        if number <= clock.now():
            raise errors.invalid(name, "Invalid timestamp: must be an integer Unix timestamp in the future.")
    return number


def _check_amount(amount: int | Decimal, name: str) -> None:
    if amount > limits.MAX_AMOUNT:
        raise errors.invalid(
            name,
            f"This value must be less than or equal to {limits.MAX_AMOUNT} (it currently is "
            f"'{_shown(str(amount))}').",
            code="amount_too_large",
        )


def _decimal(value: str, name: str, path: list[str]) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    # NaN, Infinity and 1e-999999 are numbers to Decimal, not to Stripe.
    if not number.is_finite() or number.as_tuple().exponent < -limits.MAX_DECIMAL_PLACES:
        raise errors.invalid(
            name,
            f"Invalid decimal: {_shown(value)}; must be a number with at most {limits.MAX_DECIMAL_PLACES} "
            "decimal places",
        )
    if limits.matches(path, limits.AMOUNTS):
        if number < 0:
            raise errors.invalid(
                name, f"This value must be greater than or equal to 0 (it currently is '{value}')."
            )
        _check_amount(number, name)
    return str(number)


def _string(value: str, name: str, path: list[str], resource: str) -> str:
    maximum = limits.string_max(resource, path)
    if len(value) > maximum:
        raise errors.invalid(name, f"Invalid string: {_shown(value)}; must be at most {maximum} characters")
    if limits.is_currency(path):
        _check_currency(value, name)
    return value


def _check_currency(value: str, name: str) -> None:
    if value.lower() not in limits.CURRENCIES:
        raise errors.invalid(
            name,
            f"Invalid currency: {_shown(value)}. Stripe currently supports these currencies: "
            + ", ".join(sorted(limits.CURRENCIES)),
        )


def _as_list(value, name: str) -> list:
    if isinstance(value, dict):
        if not all(k.isdigit() for k in value):
            raise errors.invalid(name, f"Invalid array: {name} must be an array.")
        return [value[k] for k in sorted(value, key=int)]
    # A single scalar for a list parameter (``expand=line_items``) reads as a one-item list.
    return [value]


def expand_paths(raw: dict) -> list[str]:
    """The ``expand[]`` values of a raw request, whatever the endpoint."""
    value = raw.get("expand")
    if value in (None, ""):
        return []
    return [str(v) for v in _as_list(value, "expand")]

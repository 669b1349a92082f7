"""What every dashboard call to Stripe shares: idempotency keys and the translation of Stripe's errors.

Services call the API through ``config.stripe_client.get_stripe_client()`` inside
``stripe_errors_as_validation(...)``, so a failure reaches the form as a ``ValidationError`` at the
field Stripe named (its ``param``), or as a non-field error when Stripe named none.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import stripe
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

RATE_LIMITED = _("Stripe is receiving too many requests right now. Nothing was saved; try again in a moment.")
UNREACHABLE = _("Stripe could not be reached. Nothing was saved; check the connection and try again.")
STRIPE_FAILED = _("Stripe could not complete the request. Nothing was saved; try again in a moment.")
NOT_AUTHORISED = _("Stripe refused the API key. Check STRIPE_SECRET_KEY; nothing was saved.")
IDEMPOTENCY_CONFLICT = _("This form was already submitted with other values. Reload the page and try again.")

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
NEW_KEY_NEEDED = "stripe_failed"


def new_request_token() -> str:
    """A form's request token (TOKEN_RE): the part of the idempotency key that names one save."""
    return uuid.uuid4().hex


def needs_new_key(error: ValidationError) -> bool:
    """Whether the form must carry a fresh request token for the next attempt (see NEW_KEY_NEEDED)."""
    return any(
        e.code == NEW_KEY_NEEDED for errors in getattr(error, "error_dict", {}).values() for e in errors
    )


def idempotency_key(operation: str, *, token: str, params: Mapping) -> str:
    """A key that is the same for a retry of the same save and differs for any other request.

    ``token`` identifies the local record or the form being submitted (a hidden field set when the
    form was first shown); the digest of ``params`` keeps a corrected resubmission from being refused
    as a reuse of the key with other parameters.
    """
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f"paylinks-{operation}-{token}-{digest}"[:255]


def field_for_param(param: str | None, fields: Mapping[str, str]) -> str:
    """Map Stripe's ``param`` (``recurring[interval]``) to a form field, by exact or prefix match."""
    if not param:
        return NON_FIELD_ERRORS
    if param in fields:
        return fields[param]
    for prefix, field in sorted(fields.items(), key=lambda item: -len(item[0])):
        if param.startswith(prefix + "["):
            return field
    return NON_FIELD_ERRORS


@contextmanager
def stripe_errors_as_validation(
    fields: Mapping[str, str] | Callable[[str | None], str] = {},  # noqa: B006 (read-only)
) -> Iterator[None]:
    """Turn ``stripe.StripeError`` into ``ValidationError`` keyed by form field (or non-field)."""
    try:
        yield
    except (stripe.InvalidRequestError, stripe.CardError) as exc:
        field = fields(exc.param) if callable(fields) else field_for_param(exc.param, fields)
        raise ValidationError({field: exc.user_message or str(exc)}, code=exc.code or "stripe") from exc
    except stripe.IdempotencyError as exc:
        raise ValidationError({NON_FIELD_ERRORS: IDEMPOTENCY_CONFLICT}, code="idempotency") from exc
    except stripe.RateLimitError as exc:
        raise ValidationError({NON_FIELD_ERRORS: RATE_LIMITED}, code="rate_limited") from exc
    except stripe.APIConnectionError as exc:
        raise ValidationError({NON_FIELD_ERRORS: UNREACHABLE}, code="unreachable") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise ValidationError({NON_FIELD_ERRORS: NOT_AUTHORISED}, code="not_authorised") from exc
    except stripe.StripeError as exc:
        # Stripe keeps a 500 under its idempotency key and replays it: the next attempt needs a new key.
        raise ValidationError(
            {NON_FIELD_ERRORS: ValidationError(STRIPE_FAILED, code=NEW_KEY_NEEDED)}
        ) from exc


def as_dict(obj) -> dict:
    """A Stripe object as a plain dict (JSON-ready), for storing and reading."""
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)

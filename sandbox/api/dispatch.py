"""The one entry point of every ``/sandbox/v1/`` view: auth, parsing, idempotency, errors, headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from urllib.parse import parse_qsl

import orjson
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import errors, faults
from sandbox.context import RequestInfo, current_request
from sandbox.encoding import EncodingError, parse_form
from sandbox.ids import new_id
from sandbox.models import IdempotencyRecord

Handler = Callable[..., dict]
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)
# Printable ASCII and short enough to store (IdempotencyRecord.api_key holds 255).
_KEY = re.compile(r"sk_test_[!-~]{1,200}")
# What a header can carry back (latin-1, no control characters): the Idempotency-Key is echoed.
_HEADER_TEXT = re.compile(r"[ -~\xa0-\xff]*")


def _api_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        value = _basic_user(value)
    elif scheme.lower() != "bearer":
        value = ""
    value = value.strip()
    if not value:
        raise errors.ApiError(_NO_KEY, status=401)
    if not _KEY.fullmatch(value):
        shown = value[:200]
        masked = shown[:8] + "*" * max(0, len(shown) - 12) + shown[-4:]
        raise errors.ApiError(f"Invalid API Key provided: {masked}", status=401)
    return value


def _basic_user(value: str) -> str:
    """curl -u sk_test_…: sends the key as the Basic user name; a value that does not decode is no key."""
    try:
        return base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
    except ValueError:  # binascii.Error, non-ASCII text and UnicodeDecodeError are all ValueErrors
        return ""


def _body(request: HttpRequest) -> str:
    """The POST body as text; over DATA_UPLOAD_MAX_MEMORY_SIZE, Stripe's error rather than Django's page.

    400, not 413: Stripe documents no 413, and its SDKs read a 400 as the InvalidRequestError it is.
    """
    try:
        raw = request.body
    except RequestDataTooBig:
        raise errors.ApiError("The request body is too large. Send fewer or shorter parameters.") from None
    return raw.decode("utf-8", errors="replace")


def _json_response(status: int, body: dict, *, request_id: str) -> HttpResponse:
    # Indented like Stripe's answers; orjson because the standard library's encoder drops to pure Python
    # as soon as it indents (a third of a session retrieve's CPU).
    content = orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    response = HttpResponse(content, status=status, content_type="application/json")
    response["Request-Id"] = request_id
    return response


def _request_hash(request: HttpRequest, body: str) -> str:
    canonical = json.dumps([request.method, request.path, sorted(parse_qsl(body, keep_blank_values=True))])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _run(handler: Handler, request: HttpRequest, raw: dict, kwargs: dict) -> tuple[int, dict]:
    result = handler(request, raw, **kwargs)
    if isinstance(result, tuple):
        return result
    return 200, result


def _idempotent(request, *, api_key: str, key: str, body: str, run) -> tuple[int, dict, bool]:
    """Run once per key: replay the saved answer for the same request, refuse another request.

    Like Stripe, only answers that are not 4xx are saved (a request that failed validation can be
    corrected and retried with the same key). The handler and the record share one transaction, so a
    concurrent duplicate either waits and replays or hits the unique constraint and replays.
    """
    if len(key) > 255:
        raise errors.invalid("idempotency_key", "Idempotency keys are up to 255 characters long.")
    if not _HEADER_TEXT.fullmatch(key):
        raise errors.invalid(
            "idempotency_key",
            "Idempotency keys cannot contain control characters.",
            code="invalid_characters",
        )
    request_hash = _request_hash(request, body)
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
                if record is not None:
                    if record.request_hash != request_hash:
                        raise errors.ApiError(
                            "Keys for idempotent requests can only be used with the same parameters they "
                            f"were first used with. Try using a key other than '{key}' if you meant to "
                            "execute a different request.",
                            type="idempotency_error",
                        )
                    return record.status_code, json.loads(record.body), True
                status, payload = run()
                if status < 400 or status >= 500:
                    IdempotencyRecord.objects.create(
                        api_key=api_key,
                        key=key,
                        request_hash=request_hash,
                        status_code=status,
                        body=json.dumps(payload),
                    )
                return status, payload, False
        except IntegrityError:
            continue  # another request stored this key first: loop once more to replay its answer
    raise errors.ApiError(
        "A request with this idempotency key is in progress.",
        status=409,
        type="idempotency_error",
        code="idempotency_key_in_use",
    )


def endpoint(**handlers: Handler):
    """Build a view serving ``handlers`` by HTTP method, e.g. ``endpoint(GET=list_x, POST=create_x)``.

    Handlers take ``(request, raw_params, **url_kwargs)`` and return the JSON body (or ``(status, body)``);
    they raise ``ApiError`` for Stripe's errors.
    """

    @csrf_exempt  # machine endpoint authenticated by the API key, like Stripe's API
    @login_not_required
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        request_id = new_id("req", length=14)
        idempotency_key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        token = current_request.set(RequestInfo(id=request_id, idempotency_key=idempotency_key))
        replayed = False
        try:
            faults.maybe_fail_api_call()
            api_key = _api_key(request)
            handler = handlers.get(request.method)
            # An id with a NUL names nothing (PostgreSQL cannot even compare text with one).
            if handler is None or any("\x00" in value for value in kwargs.values()):
                raise errors.ApiError(
                    f"Unrecognized request URL ({request.method}: {request.path}).", status=404
                )
            body = _body(request) if request.method == "POST" else ""
            source = body if request.method == "POST" else request.META.get("QUERY_STRING", "")
            try:
                raw = parse_form(source)
            except EncodingError as exc:
                raise errors.invalid(exc.key, str(exc), code=exc.code) from None

            def run() -> tuple[int, dict]:
                if request.method == "GET":
                    # Reads take no write lock (SQLite's IMMEDIATE transactions would serialise them).
                    return _run(handler, request, raw, kwargs)
                with transaction.atomic():
                    return _run(handler, request, raw, kwargs)

            if idempotency_key:
                status, payload, replayed = _idempotent(
                    request, api_key=api_key, key=idempotency_key, body=body, run=run
                )
            else:
                status, payload = run()
        except errors.ApiError as exc:
            status, payload = exc.status, exc.body()
        finally:
            current_request.reset(token)
        response = _json_response(status, payload, request_id=request_id)
        if idempotency_key and _HEADER_TEXT.fullmatch(idempotency_key):
            response["Idempotency-Key"] = idempotency_key
        if replayed:
            response["Idempotent-Replayed"] = "true"
        version = request.headers.get("Stripe-Version")
        if version and _HEADER_TEXT.fullmatch(version):
            response["Stripe-Version"] = version
        return response

    view.handlers = dict(handlers)  # what the route serves, for tests that walk the URL patterns
    return view


@csrf_exempt
@login_not_required
def unrecognized(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other ``/v1/…`` path: Stripe's 404 for an unknown URL."""
    error = errors.ApiError(f"Unrecognized request URL ({request.method}: {request.path}).", status=404)
    return _json_response(404, error.body(), request_id=new_id("req", length=14))

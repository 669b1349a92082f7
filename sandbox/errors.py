"""Stripe's error envelope, raised as an exception anywhere in the sandbox and rendered by the dispatcher."""

from __future__ import annotations


class ApiError(Exception):
    """Rendered as ``{"error": {...}}`` with ``status``; ``type`` is Stripe's error type."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def missing(param: str) -> ApiError:
    return ApiError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown(param: str) -> ApiError:
    return ApiError(f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def invalid(param: str, message: str, *, code: str | None = None) -> ApiError:
    return ApiError(message, code=code, param=param)


def no_such(kind: str, object_id: str, *, param: str = "id") -> ApiError:
    return ApiError(f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param)

"""``GET /v1/account``: the sandbox merchant."""

from __future__ import annotations

from stripe.params import AccountRetrieveCurrentParams

from sandbox import store
from sandbox.account import account_get
from sandbox.params import validate


def account_retrieve(request, raw: dict) -> dict:
    params = validate(raw, AccountRetrieveCurrentParams)
    return store.render(account_get(), expand=params.get("expand", []))

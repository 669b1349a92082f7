"""Stripe-shaped objects for tests of the database side of fulfilment (reference §4.2, §4.3)."""

from __future__ import annotations

import itertools
import time

_ids = itertools.count(1)


def checkout_session(**overrides) -> dict:
    n = next(_ids)
    session = {
        "id": f"cs_test_fulfil_{n:06d}",
        "object": "checkout.session",
        "created": int(time.time()),
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "payment_link": None,
        "currency": "eur",
        "amount_subtotal": 2000,
        "amount_total": 2000,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "customer": None,
        "customer_email": None,
        "customer_details": {
            "email": "bob@example.com",
            "name": "Bob Buyer",
            "phone": None,
            "address": {
                "city": "Paris",
                "country": "FR",
                "line1": "1 rue de la Paix",
                "line2": None,
                "postal_code": "75002",
                "state": None,
            },
        },
        "collected_information": None,
        "shipping_cost": None,
        "custom_fields": [],
        "consent": None,
        "client_reference_id": None,
        "discounts": [],
        "payment_intent": f"pi_test_{n:06d}",
        "invoice": None,
        "subscription": None,
    }
    session.update(overrides)
    return session


def line_item(**overrides) -> dict:
    n = next(_ids)
    item = {
        "id": f"li_test_{n:06d}",
        "object": "item",
        "description": "T-shirt",
        "quantity": 2,
        "currency": "eur",
        "price": {"id": f"price_test_{n:06d}", "object": "price"},
        "amount_subtotal": 2000,
        "amount_discount": 0,
        "amount_tax": 0,
        "amount_total": 2000,
    }
    item.update(overrides)
    return item

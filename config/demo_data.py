"""The small catalog and the two payment links that ``manage.py demo`` creates on its first run.

Created through the dashboard's own services, so they reach the sandbox over HTTP exactly as a
merchant's would. Fixed request tokens make a run interrupted half-way safe to repeat: the sandbox
replays what it already created (Stripe's idempotency keys).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from catalog.models import Product
from catalog.services import product_create_with_price
from links.services import payment_link_create


def demo_catalog_create(*, username: str) -> list[str]:
    """Create the demo products and links unless the catalog already has products; return their names."""
    if Product.objects.exists():
        return []
    user = get_user_model().objects.filter(username=username).first()
    tshirt = product_create_with_price(
        name="Paylinks T-shirt",
        description="Organic cotton, printed in Lyon.",
        currency="eur",
        unit_amount=2500,
        request_token="demo-product-tshirt",
    )
    mug = product_create_with_price(
        name="Enamel mug",
        description="Keeps coffee warm for the whole stand-up.",
        currency="eur",
        unit_amount=1200,
        request_token="demo-product-mug",
    )
    shirt_link = payment_link_create(
        name="T-shirt shop window",
        line_items=[
            {
                "price": tshirt.prices.get(),
                "quantity": 1,
                "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 10},
            }
        ],
        created_by=user,
        request_token="demo-link-tshirt",
    )
    bundle_link = payment_link_create(
        name="T-shirt and mug bundle",
        line_items=[
            {"price": tshirt.prices.get(), "quantity": 1},
            {"price": mug.prices.get(), "quantity": 1},
        ],
        options={
            "after_completion": {
                "type": "hosted_confirmation",
                "hosted_confirmation": {"custom_message": "Thank you! Your bundle ships tomorrow."},
            }
        },
        created_by=user,
        request_token="demo-link-bundle",
    )
    return [tshirt.name, mug.name, shirt_link.name, bundle_link.name]

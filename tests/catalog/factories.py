"""Local catalog rows for view tests that need no Stripe call (services are tested against the sandbox)."""

from __future__ import annotations

import factory

from catalog.models import Price, Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    stripe_id = factory.Sequence(lambda n: f"prod_test{n:06d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    product = factory.SubFactory(ProductFactory)
    stripe_id = factory.Sequence(lambda n: f"price_test{n:06d}")
    currency = "usd"
    unit_amount = 1500

"""Local link and order rows for view and query tests."""

from __future__ import annotations

import factory

from links.models import Order, PaymentLink, PaymentLinkLineItem
from links.services import link_search_text_refresh
from tests.catalog.factories import PriceFactory


class PaymentLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentLink
        skip_postgeneration_save = True

    stripe_id = factory.Sequence(lambda n: f"plink_test{n:06d}")
    name = factory.Sequence(lambda n: f"Link {n}")
    url = factory.Sequence(lambda n: f"http://testserver/sandbox/pay/test_{n:06d}")
    currency = "usd"

    @factory.post_generation
    def refresh_search_text(link, create, extracted, **kwargs):
        # As the services leave a link: its search text written.
        if create:
            _refresh_search_text(link)


def _refresh_search_text(link: PaymentLink) -> None:
    link_search_text_refresh(links=PaymentLink.objects.filter(pk=link.pk))
    link.refresh_from_db(fields=["search_text"])


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentLinkLineItem
        skip_postgeneration_save = True

    payment_link = factory.SubFactory(PaymentLinkFactory)
    price = factory.SubFactory(PriceFactory)
    stripe_price_id = factory.LazyAttribute(lambda item: item.price.stripe_id)
    quantity = 1

    @factory.post_generation
    def refresh_search_text(item, create, extracted, **kwargs):
        if create:
            _refresh_search_text(item.payment_link)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    checkout_session_id = factory.Sequence(lambda n: f"cs_test_{n:08d}")
    payment_link = factory.SubFactory(PaymentLinkFactory)
    status = Order.Status.PAID
    currency = "usd"
    amount_total = 1500
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")

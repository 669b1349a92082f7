"""Catalog reads."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from catalog.models import Coupon, Price, Product, PromotionCode, ShippingRate

DEFAULT_ORDER = ("-created_at", "-id")


def product_list(
    *, query: str = "", active: bool | None = None, order_by: tuple[str, ...] = DEFAULT_ORDER
) -> QuerySet[Product]:
    products = Product.objects.annotate(prices_count=Count("prices"))
    if query:
        products = products.filter(
            Q(name__icontains=query) | Q(description__icontains=query) | Q(stripe_id=query)
        )
    if active is not None:
        products = products.filter(active=active)
    return products.order_by(*order_by)


def product_get(*, stripe_id: str) -> Product:
    """The product behind a URL, or 404."""
    return get_object_or_404(Product, stripe_id=stripe_id)


def price_list_for_product(*, product: Product) -> QuerySet[Price]:
    return product.prices.order_by("-active", "-created_at", "-id")


def price_choices_for_links() -> QuerySet[Price]:
    """Active prices of active products, for a payment link's line items."""
    return (
        Price.objects.filter(active=True, product__active=True)
        .select_related("product")
        .order_by("product__name", "-created_at")
    )


def shipping_rate_list(
    *, active: bool | None = None, order_by: tuple[str, ...] = DEFAULT_ORDER
) -> QuerySet[ShippingRate]:
    """Shipping rates, the active ones first (archived rates are listed apart, after them)."""
    rates = ShippingRate.objects.all()
    if active is not None:
        rates = rates.filter(active=active)
    return rates.order_by("-active", *order_by)


def shipping_rate_get(*, stripe_id: str) -> ShippingRate:
    return get_object_or_404(ShippingRate, stripe_id=stripe_id)


def shipping_rate_choices(*, kept: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Active shipping rates for a link's shipping options: ``(stripe_id, "Express — 5.00 EUR")``, and the
    archived ones in ``kept`` (a link's current rates), so that saving the link does not drop them unseen."""
    from catalog.money import format_money

    rates = ShippingRate.objects.filter(Q(active=True) | Q(stripe_id__in=list(kept))).order_by("display_name")
    return [
        (
            rate.stripe_id,
            f"{rate.display_name} — {format_money(rate.amount, rate.currency)}"
            if rate.active
            else _("%(name)s — %(amount)s (archived)")
            % {"name": rate.display_name, "amount": format_money(rate.amount, rate.currency)},
        )
        for rate in rates
    ]


def coupon_list(
    *, query: str = "", valid: bool | None = None, order_by: tuple[str, ...] = DEFAULT_ORDER
) -> QuerySet[Coupon]:
    coupons = Coupon.objects.annotate(codes_count=Count("promotion_codes"))
    if query:
        coupons = coupons.filter(Q(name__icontains=query) | Q(stripe_id=query))
    if valid is not None:
        coupons = coupons.filter(valid=valid)
    return coupons.order_by(*order_by)


def promotion_code_list(
    *,
    coupon: Coupon,
    query: str = "",
    active: bool | None = None,
    order_by: tuple[str, ...] = DEFAULT_ORDER,
) -> QuerySet[PromotionCode]:
    codes = coupon.promotion_codes.all()
    if query:
        codes = codes.filter(code__icontains=query)
    if active is not None:
        codes = codes.filter(active=active)
    return codes.order_by(*order_by)


def coupon_get(*, stripe_id: str) -> Coupon:
    return get_object_or_404(Coupon, stripe_id=stripe_id)


def promotion_code_get(*, stripe_id: str) -> PromotionCode:
    return get_object_or_404(PromotionCode.objects.select_related("coupon"), stripe_id=stripe_id)


def price_get(*, product_stripe_id: str, stripe_id: str) -> Price:
    return get_object_or_404(
        Price.objects.select_related("product"), stripe_id=stripe_id, product__stripe_id=product_stripe_id
    )


def shop_currency() -> str:
    """The currency most of the catalog's active prices are in, which a new price, shipping rate or coupon
    most likely uses; "usd" (Stripe's own default) for an empty catalog."""
    top = (
        Price.objects.filter(active=True)
        .values("currency")
        .annotate(prices=Count("id"))
        .order_by("-prices", "currency")
        .first()
    )
    return top["currency"] if top else "usd"

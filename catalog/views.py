from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import selectors, services
from catalog.forms import (
    CouponFilterForm,
    CouponForm,
    PriceCreateForm,
    ProductCreateForm,
    ProductEditForm,
    ProductFilterForm,
    PromotionCodeFilterForm,
    PromotionCodeForm,
    ShippingRateFilterForm,
    ShippingRateForm,
)
from config.http import UNPROCESSABLE, HtmxHttpRequest, add_service_errors, redirect_after_post, render_page

PRODUCTS_PER_PAGE = 25
COUPONS_PER_PAGE = 50

# /catalog/


@require_GET
def product_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = ProductFilterForm(request.GET)
    page = Paginator(selectors.product_list(**filters.filters()), PRODUCTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"filters": filters, "page": page, "query_string": filters.query()}
    return render_page(request, "catalog/product_list.html", context, partial="product-table")


# /catalog/new/


@require_http_methods(["GET", "POST"])
def product_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ProductCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create_with_price(**form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Product “%(name)s” created.") % {"name": product.name})
            return redirect_after_post(request, reverse("catalog:product-detail", args=[product.stripe_id]))
    status = UNPROCESSABLE if form.errors else 200
    return render_page(
        request, "catalog/product_form.html", {"form": form}, partial="product-form", status=status
    )


# /catalog/<prod_…>/


@require_GET
def product_detail(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    product = selectors.product_get(stripe_id=stripe_id)
    context = {"product": product, "prices": selectors.price_list_for_product(product=product)}
    return render_page(request, "catalog/product_detail.html", context)


@require_http_methods(["GET", "POST"])
def price_create(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    product = selectors.product_get(stripe_id=stripe_id)
    form = PriceCreateForm(request.POST or None)
    context = {"product": product, "form": form}
    if request.method == "POST" and ("add_tier" in request.POST or "refresh" in request.POST):
        # Another pricing model or one more tier: show its fields, save nothing (works without JS too).
        return render_page(request, "catalog/price_form.html", context, partial="price-model")
    if request.method == "POST" and form.is_valid():
        try:
            services.price_create(product=product, **form.price_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Price added to “%(name)s”.") % {"name": product.name})
            return redirect_after_post(request, reverse("catalog:product-detail", args=[product.stripe_id]))
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render_page(request, "catalog/price_form.html", context, partial="price-form", status=status)


# /catalog/shipping-rates/


@require_http_methods(["GET", "POST"])
def shipping_rate_list(request: HtmxHttpRequest) -> HttpResponse:
    """The shipping rates, with the form to add one (Stripe never changes a rate's amount)."""
    form = ShippingRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rate = services.shipping_rate_create(**form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Shipping rate “%(name)s” created.") % {"name": rate.display_name})
            return redirect_after_post(request, reverse("catalog:shipping-rate-list"))
    status = UNPROCESSABLE if form.errors else 200
    filters = ShippingRateFilterForm(request.GET)
    context = {"form": form, "filters": filters, "rates": selectors.shipping_rate_list(**filters.filters())}
    partial = "shipping-rate-form" if request.method == "POST" else "rate-table"
    return render_page(request, "catalog/shipping_rates.html", context, partial=partial, status=status)


@require_POST
def shipping_rate_set_active(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    rate = selectors.shipping_rate_get(stripe_id=stripe_id)
    active = request.POST.get("active") == "true"
    try:
        rate = services.shipping_rate_set_active(shipping_rate=rate, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        message = (
            _("Shipping rate “%(name)s” restored.") if active else _("Shipping rate “%(name)s” archived.")
        )
        messages.success(request, message % {"name": rate.display_name})
    return redirect_after_post(request, reverse("catalog:shipping-rate-list"))


# /catalog/discounts/


@require_http_methods(["GET", "POST"])
def coupon_list(request: HtmxHttpRequest) -> HttpResponse:
    """Coupons, with the form to add one."""
    form = CouponForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            coupon = services.coupon_create(**form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Coupon “%(name)s” created.") % {"name": coupon})
            return redirect_after_post(request, reverse("catalog:coupon-detail", args=[coupon.stripe_id]))
    status = UNPROCESSABLE if form.errors else 200
    filters = CouponFilterForm(request.GET)
    page = Paginator(selectors.coupon_list(**filters.filters()), COUPONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "filters": filters, "page": page, "query_string": filters.query()}
    partial = "coupon-form" if request.method == "POST" else "coupon-table"
    return render_page(request, "catalog/coupons.html", context, partial=partial, status=status)


@require_http_methods(["GET", "POST"])
def coupon_detail(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    """A coupon, its promotion codes, and the form to add a code."""
    coupon = selectors.coupon_get(stripe_id=stripe_id)
    form = PromotionCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            code = services.promotion_code_create(coupon=coupon, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Promotion code %(code)s created.") % {"code": code.code})
            return redirect_after_post(request, reverse("catalog:coupon-detail", args=[coupon.stripe_id]))
    status = UNPROCESSABLE if form.errors else 200
    filters = PromotionCodeFilterForm(request.GET)
    codes = selectors.promotion_code_list(coupon=coupon, **filters.filters())
    context = {"coupon": coupon, "form": form, "filters": filters, "codes": codes}
    partial = "promotion-code-form" if request.method == "POST" else "code-table"
    return render_page(request, "catalog/coupon_detail.html", context, partial=partial, status=status)


@require_POST
def promotion_code_set_active(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    code = selectors.promotion_code_get(stripe_id=stripe_id)
    active = request.POST.get("active") == "true"
    try:
        code = services.promotion_code_set_active(promotion_code=code, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        message = _("Code %(code)s activated.") if active else _("Code %(code)s deactivated.")
        messages.success(request, message % {"code": code.code})
    return redirect_after_post(request, reverse("catalog:coupon-detail", args=[code.coupon.stripe_id]))


@require_http_methods(["GET", "POST"])
def product_edit(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    product = selectors.product_get(stripe_id=stripe_id)
    form = ProductEditForm(request.POST or None, initial=ProductEditForm.initial_from(product))
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_update(product=product, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
            return redirect_after_post(request, reverse("catalog:product-detail", args=[product.stripe_id]))
    status = UNPROCESSABLE if form.errors else 200
    context = {"product": product, "form": form}
    return render_page(
        request, "catalog/product_edit.html", context, partial="product-edit-form", status=status
    )


@require_POST
def product_set_active(request: HtmxHttpRequest, stripe_id: str) -> HttpResponse:
    product = selectors.product_get(stripe_id=stripe_id)
    active = request.POST.get("active") == "true"
    try:
        product = services.product_set_active(product=product, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Product restored.") if active else _("Product archived."))
    return redirect_after_post(request, reverse("catalog:product-detail", args=[product.stripe_id]))


@require_POST
def price_set_active(request: HtmxHttpRequest, stripe_id: str, price_id: str) -> HttpResponse:
    price = selectors.price_get(product_stripe_id=stripe_id, stripe_id=price_id)
    active = request.POST.get("active") == "true"
    try:
        services.price_set_active(price=price, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Price restored.") if active else _("Price archived."))
    return redirect_after_post(request, reverse("catalog:product-detail", args=[stripe_id]))

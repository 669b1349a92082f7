from __future__ import annotations

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("new/", views.product_create, name="product-create"),
    # Before the product paths, which would take "shipping-rates" for a product id.
    path("shipping-rates/", views.shipping_rate_list, name="shipping-rate-list"),
    path(
        "shipping-rates/<str:stripe_id>/active/",
        views.shipping_rate_set_active,
        name="shipping-rate-active",
    ),
    path("discounts/", views.coupon_list, name="coupon-list"),
    path(
        "discounts/codes/<str:stripe_id>/active/",
        views.promotion_code_set_active,
        name="promotion-code-active",
    ),
    path("discounts/<str:stripe_id>/", views.coupon_detail, name="coupon-detail"),
    path("<str:stripe_id>/", views.product_detail, name="product-detail"),
    path("<str:stripe_id>/edit/", views.product_edit, name="product-edit"),
    path("<str:stripe_id>/active/", views.product_set_active, name="product-active"),
    path("<str:stripe_id>/prices/new/", views.price_create, name="price-create"),
    path("<str:stripe_id>/prices/<str:price_id>/active/", views.price_set_active, name="price-active"),
]

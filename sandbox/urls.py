from __future__ import annotations

from django.urls import path, re_path
from django.views.generic import RedirectView

from sandbox import hosted, pages, receipts
from sandbox.api import account as account_api
from sandbox.api import accounts as accounts_api
from sandbox.api import billing as billing_api
from sandbox.api import (
    checkout_sessions,
    coupons,
    disputes,
    events,
    payment_links,
    prices,
    products,
    refunds,
    resources,
    search,
    shipping_rates,
    tax_rates,
    test_helpers,
    webhook_endpoints,
)
from sandbox.api.dispatch import endpoint, unrecognized

app_name = "sandbox"


def v1(route: str, name: str, **handlers):
    """``/sandbox/v1/<route>`` served by ``handlers`` per HTTP method (see api/dispatch.py)."""
    return path(f"v1/{route}", endpoint(**handlers), name=f"api_{name}")


urlpatterns = [
    v1("products", "products", GET=products.product_list, POST=products.product_create),
    v1("products/search", "products_search", GET=search.product_search),
    v1(
        "products/<str:product_id>",
        "product",
        GET=products.product_retrieve,
        POST=products.product_update,
        DELETE=products.product_delete,
    ),
    v1("prices", "prices", GET=prices.price_list, POST=prices.price_create),
    v1("prices/search", "prices_search", GET=search.price_search),
    v1("prices/<str:price_id>", "price", GET=prices.price_retrieve, POST=prices.price_update),
    v1(
        "payment_links",
        "payment_links",
        GET=payment_links.payment_link_list,
        POST=payment_links.payment_link_create,
    ),
    v1(
        "payment_links/<str:link_id>",
        "payment_link",
        GET=payment_links.payment_link_retrieve,
        POST=payment_links.payment_link_update,
    ),
    v1(
        "payment_links/<str:link_id>/line_items",
        "payment_link_line_items",
        GET=payment_links.payment_link_line_items,
    ),
    v1("checkout/sessions", "checkout_sessions", GET=checkout_sessions.session_list),
    v1("checkout/sessions/<str:session_id>", "checkout_session", GET=checkout_sessions.session_retrieve),
    v1(
        "checkout/sessions/<str:session_id>/line_items",
        "checkout_session_line_items",
        GET=checkout_sessions.session_line_items,
    ),
    v1(
        "checkout/sessions/<str:session_id>/expire",
        "checkout_session_expire",
        POST=checkout_sessions.session_expire_view,
    ),
    v1(
        "shipping_rates",
        "shipping_rates",
        GET=shipping_rates.shipping_rate_list,
        POST=shipping_rates.shipping_rate_create,
    ),
    v1(
        "shipping_rates/<str:rate_id>",
        "shipping_rate",
        GET=shipping_rates.shipping_rate_retrieve,
        POST=shipping_rates.shipping_rate_update,
    ),
    v1("coupons", "coupons", GET=coupons.coupon_list, POST=coupons.coupon_create),
    v1(
        "coupons/<str:coupon_id>",
        "coupon",
        GET=coupons.coupon_retrieve,
        POST=coupons.coupon_update,
        DELETE=coupons.coupon_delete,
    ),
    v1(
        "promotion_codes",
        "promotion_codes",
        GET=coupons.promotion_code_list,
        POST=coupons.promotion_code_create,
    ),
    v1(
        "promotion_codes/<str:promo_id>",
        "promotion_code",
        GET=coupons.promotion_code_retrieve,
        POST=coupons.promotion_code_update,
    ),
    v1("tax_rates", "tax_rates", GET=tax_rates.tax_rate_list, POST=tax_rates.tax_rate_create),
    v1(
        "tax_rates/<str:rate_id>", "tax_rate", GET=tax_rates.tax_rate_retrieve, POST=tax_rates.tax_rate_update
    ),
    v1(
        "webhook_endpoints",
        "webhook_endpoints",
        GET=webhook_endpoints.webhook_endpoint_list,
        POST=webhook_endpoints.webhook_endpoint_create,
    ),
    v1(
        "webhook_endpoints/<str:endpoint_id>",
        "webhook_endpoint",
        GET=webhook_endpoints.webhook_endpoint_retrieve,
        POST=webhook_endpoints.webhook_endpoint_update,
        DELETE=webhook_endpoints.webhook_endpoint_delete,
    ),
    v1("events", "events", GET=events.event_list),
    v1("events/<str:event_id>", "event", GET=events.event_retrieve),
    v1("payment_intents", "payment_intents", GET=resources.payment_intent_list),
    v1("payment_intents/<str:intent_id>", "payment_intent", GET=resources.payment_intent_retrieve),
    v1(
        "payment_intents/<str:intent_id>/capture",
        "payment_intent_capture",
        POST=resources.payment_intent_capture,
    ),
    v1(
        "payment_intents/<str:intent_id>/cancel",
        "payment_intent_cancel",
        POST=resources.payment_intent_cancel,
    ),
    v1("subscriptions", "subscriptions", GET=billing_api.subscription_list),
    v1(
        "subscriptions/<str:subscription_id>",
        "subscription",
        GET=billing_api.subscription_retrieve,
        DELETE=billing_api.subscription_cancel,
    ),
    v1("invoices", "invoices", GET=billing_api.invoice_list),
    v1("invoices/<str:invoice_id>", "invoice", GET=billing_api.invoice_retrieve),
    v1("charges", "charges", GET=resources.charge_list),
    v1("charges/<str:charge_id>", "charge", GET=resources.charge_retrieve),
    v1("refunds", "refunds", GET=refunds.refund_list, POST=refunds.refund_create),
    v1("refunds/<str:refund_id>", "refund", GET=refunds.refund_retrieve, POST=refunds.refund_update),
    v1("disputes", "disputes", GET=disputes.dispute_list),
    v1(
        "disputes/<str:dispute_id>",
        "dispute",
        GET=disputes.dispute_retrieve,
        POST=disputes.dispute_update,
    ),
    v1("disputes/<str:dispute_id>/close", "dispute_close", POST=disputes.dispute_close),
    v1("customers", "customers", GET=resources.customer_list),
    v1("customers/<str:customer_id>", "customer", GET=resources.customer_retrieve),
    v1("account", "account", GET=account_api.account_retrieve),
    v1(
        "accounts",
        "accounts",
        GET=accounts_api.connected_account_list,
        POST=accounts_api.connected_account_create,
    ),
    v1("accounts/<str:account_id>", "connected_account", GET=accounts_api.connected_account_retrieve),
    v1("test_helpers/sandbox_clock", "sandbox_clock", GET=test_helpers.sandbox_clock_retrieve),
    v1(
        "test_helpers/sandbox_clock/advance", "sandbox_clock_advance", POST=test_helpers.sandbox_clock_advance
    ),
    # (?s:…): a path with an encoded newline (%0A) is still an API URL, answered with Stripe's 404.
    re_path(r"^v1/(?P<rest>(?s:.*))$", unrecognized, name="api_unrecognized"),
    # Hosted pages (public, like buy.stripe.com and checkout.stripe.com).
    path("pay/<str:token>", hosted.pay, name="pay"),
    path("checkout/<str:session_id>", hosted.checkout_page, name="checkout"),
    path("checkout/<str:session_id>/authenticate", hosted.authenticate, name="authenticate"),
    path("", RedirectView.as_view(pattern_name="sandbox:events"), name="index"),
    path("invoices/<str:token>", receipts.invoice_page, name="invoice"),
    # Developer pages (staff only, like the dashboard).
    path("events/", pages.event_list, name="events"),
    path("deliveries/<int:delivery_id>/resend", pages.delivery_resend_view, name="delivery_resend"),
    path("clock/advance", pages.clock_advance_view, name="clock_advance"),
    path("settings/", pages.account_settings, name="settings"),
    path("legal/terms", pages.legal, {"page": "terms"}, name="terms"),
    path("legal/privacy", pages.legal, {"page": "privacy"}, name="privacy"),
    path("invoices/<str:token>/pdf", receipts.invoice_pdf, name="invoice_pdf"),
]

from __future__ import annotations

from django.urls import path, re_path

from sandbox import hosted
from sandbox.api import checkout_sessions, events, payment_links, prices, products, resources, webhook_endpoints
from sandbox.api.dispatch import endpoint, unrecognized

app_name = "sandbox"

api = [
    path("products", endpoint(GET=products.product_list, POST=products.product_create), name="products"),
    path(
        "products/<str:product_id>",
        endpoint(GET=products.product_retrieve, POST=products.product_update, DELETE=products.product_delete),
        name="product",
    ),
    path("prices", endpoint(GET=prices.price_list, POST=prices.price_create), name="prices"),
    path("prices/<str:price_id>", endpoint(GET=prices.price_retrieve, POST=prices.price_update), name="price"),
    path(
        "payment_links",
        endpoint(GET=payment_links.payment_link_list, POST=payment_links.payment_link_create),
        name="payment_links",
    ),
    path(
        "payment_links/<str:link_id>",
        endpoint(GET=payment_links.payment_link_retrieve, POST=payment_links.payment_link_update),
        name="payment_link",
    ),
    path(
        "payment_links/<str:link_id>/line_items",
        endpoint(GET=payment_links.payment_link_line_items),
        name="payment_link_line_items",
    ),
    path("checkout/sessions", endpoint(GET=checkout_sessions.session_list), name="checkout_sessions"),
    path(
        "checkout/sessions/<str:session_id>",
        endpoint(GET=checkout_sessions.session_retrieve),
        name="checkout_session",
    ),
    path(
        "checkout/sessions/<str:session_id>/line_items",
        endpoint(GET=checkout_sessions.session_line_items),
        name="checkout_session_line_items",
    ),
    path(
        "checkout/sessions/<str:session_id>/expire",
        endpoint(POST=checkout_sessions.session_expire_view),
        name="checkout_session_expire",
    ),
    path(
        "webhook_endpoints",
        endpoint(GET=webhook_endpoints.webhook_endpoint_list, POST=webhook_endpoints.webhook_endpoint_create),
        name="webhook_endpoints",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>",
        endpoint(
            GET=webhook_endpoints.webhook_endpoint_retrieve,
            POST=webhook_endpoints.webhook_endpoint_update,
            DELETE=webhook_endpoints.webhook_endpoint_delete,
        ),
        name="webhook_endpoint",
    ),
    path("events", endpoint(GET=events.event_list), name="events"),
    path("events/<str:event_id>", endpoint(GET=events.event_retrieve), name="event"),
    path("payment_intents", endpoint(GET=resources.payment_intent_list), name="payment_intents"),
    path(
        "payment_intents/<str:intent_id>",
        endpoint(GET=resources.payment_intent_retrieve),
        name="payment_intent",
    ),
    path("customers", endpoint(GET=resources.customer_list), name="customers"),
    path("customers/<str:customer_id>", endpoint(GET=resources.customer_retrieve), name="customer"),
]

urlpatterns = [
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in api],
    re_path(r"^v1/(?P<rest>.*)$", unrecognized, name="unrecognized"),
    path("pay/<str:token>", hosted.pay, name="pay"),
    path("checkout/<str:session_id>", hosted.checkout_page, name="checkout"),
]

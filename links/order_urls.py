from __future__ import annotations

from django.urls import path

from links import capture_views, refund_views
from links import order_views as views

app_name = "orders"

urlpatterns = [
    # /orders/
    path("", views.order_list, name="list"),
    path("export.csv", views.order_export, name="export"),
    path("bulk/", views.order_bulk, name="bulk"),
    path("emails/", views.email_list, name="email-list"),
    path("emails/bulk/", views.email_bulk, name="email-bulk"),
    # /orders/success/?session_id=cs_…: public, the after-payment page merchants can redirect to.
    path("success/", views.order_success, name="success"),
    # /orders/<public_id>/
    path("<uuid:public_id>/", views.order_detail, name="detail"),
    path("<uuid:public_id>/fulfil/", views.order_fulfil, name="fulfil"),
    path("<uuid:public_id>/refetch/", views.order_refetch, name="refetch"),
    path("<uuid:public_id>/capture/", capture_views.order_capture, name="capture"),
    path(
        "<uuid:public_id>/cancel-authorization/",
        capture_views.order_cancel_authorization,
        name="cancel-authorization",
    ),
    path("<uuid:public_id>/refund/", refund_views.order_refund, name="refund"),
    path("<uuid:public_id>/emails/<int:email_id>/resend/", views.order_email_resend, name="email-resend"),
]

from __future__ import annotations

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    # /webhooks/stripe/: Stripe (or the sandbox) delivers here.
    path("stripe/", views.stripe_webhook, name="stripe"),
    # /webhooks/events/…: the dashboard's event log.
    path("events/", views.event_list, name="event-list"),
    path("events/<str:stripe_event_id>/", views.event_detail, name="event-detail"),
    path("events/<str:stripe_event_id>/replay/", views.event_replay, name="event-replay"),
]

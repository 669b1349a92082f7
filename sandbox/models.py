"""The sandbox's own tables: a Stripe-like object store, idempotency records and webhook deliveries.

The dashboard never reads these tables; it talks to the sandbox over HTTP only.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform


class ApiObject(models.Model):
    """One Stripe object (product, price, payment link, session, event, …) as its public JSON.

    ``data`` holds the object exactly as the API renders it, expandable fields as ids; keys starting
    with ``_`` are sandbox-private (e.g. a payment link's line items, an endpoint's secret) and are
    stripped on rendering.
    """

    # An auto-increment key gives a total order for "newest first" when several objects share a second.
    seq = models.BigAutoField(primary_key=True)
    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    created = models.BigIntegerField()
    # The owning object used by list filters (a price's product, a session's payment link).
    parent = models.CharField(max_length=255, blank=True, default="")
    # A secondary lookup: a payment link's URL token, an event's type, a price's lookup_key.
    key = models.CharField(max_length=255, blank=True, default="")
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [
            # List endpoints page through one type newest first, optionally filtered by parent or key.
            models.Index(fields=["type", "-seq"], name="sandbox_obj_type_seq"),
            models.Index(fields=["type", "parent", "-seq"], name="sandbox_obj_type_parent"),
            models.Index(fields=["type", "key"], name="sandbox_obj_type_key"),
            # The clock's tick (beat, and the hosted checkout pages): open sessions past their expiry,
            # payments due to settle, trials due to end, subscriptions due to renew. Each reads only the due
            # rows, however many sessions the sandbox has kept (without them the tick read every session:
            # 190 ms at 15,000 sessions).
            models.Index(
                KeyTransform("expires_at", "data"),
                condition=Q(type="checkout.session", data__status="open"),
                name="sandbox_session_open_expiry",
            ),
            models.Index(
                KeyTransform("_settles_at", "data"),
                condition=Q(type="checkout.session", data__has_key="_settles_at"),
                name="sandbox_session_settles_at",
            ),
            models.Index(
                KeyTransform("trial_end", "data"),
                condition=Q(type="subscription", data__status="trialing"),
                name="sandbox_subscription_trial_end",
            ),
            models.Index(
                KeyTransform("_renews_at", "data"),
                condition=Q(type="subscription", data__has_key="_renews_at"),
                name="sandbox_subscription_renews_at",
            ),
            models.Index(
                KeyTransform("_capture_before", "data"),
                condition=Q(type="payment_intent", data__has_key="_capture_before"),
                name="sandbox_intent_capture_before",
            ),
            models.Index(
                KeyTransform("_settles_at", "data"),
                condition=Q(type="refund", data__has_key="_settles_at"),
                name="sandbox_refund_settles_at",
            ),
            models.Index(
                KeyTransform("_fails_at", "data"),
                condition=Q(type="refund", data__has_key="_fails_at"),
                name="sandbox_refund_fails_at",
            ),
            models.Index(
                KeyTransform("_dispute_at", "data"),
                condition=Q(type="charge", data__has_key="_dispute_at"),
                name="sandbox_charge_dispute_at",
            ),
            # A promotion code for first-time customers looks for an earlier paid session by e-mail.
            models.Index(
                KeyTransform("email", KeyTransform("customer_details", "data")),
                condition=Q(type="checkout.session", data__status="complete"),
                name="sandbox_session_complete_email",
            ),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class IdempotencyRecord(models.Model):
    """The first response given for an ``Idempotency-Key``, replayed for the same request."""

    api_key = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The tick prunes records older than a day: without it, a scan of every record each time.
        indexes = [models.Index(fields=["created_at"], name="sandbox_idempotency_created")]
        constraints = [
            # Two concurrent requests with one key: the second insert fails and replays the first.
            models.UniqueConstraint(fields=["api_key", "key"], name="sandbox_idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class WebhookDelivery(models.Model):
    """One event to one endpoint: the outbox row that the delivery task claims and retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # retries exhausted

    event_id = models.CharField(max_length=255)
    endpoint_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Set while one worker is sending, so a duplicate task does not send the same attempt twice.
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Emitting an event creates one delivery per endpoint, never two.
            models.UniqueConstraint(fields=["event_id", "endpoint_id"], name="sandbox_delivery_unique"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sandbox_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class WebhookDeliveryAttempt(models.Model):
    """Every POST made to an endpoint, with what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

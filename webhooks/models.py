"""Stripe events received, deduplicated by id; every delivery recorded apart from its event.

The database is the outbox: an event is stored before we answer Stripe, and processed afterwards by a
Celery task; events whose task never ran are found again by their status and re-enqueued.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WebhookEndpoint(models.Model):
    """Our endpoint as registered with Stripe (or the sandbox), with the signing secret it returned."""

    stripe_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=500)
    api_base = models.CharField(max_length=500, help_text=_("The API the endpoint was registered with."))
    secret = models.CharField(max_length=255)
    enabled_events = models.JSONField(default=list)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return f"{self.stripe_id} → {self.url}"


class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    api_version = models.CharField(max_length=64, blank=True)
    created = models.PositiveBigIntegerField(help_text=_("Stripe's creation time, in Unix seconds."))
    livemode = models.BooleanField(default=False)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The periodic re-enqueue task scans only events still waiting for work.
            models.Index(
                fields=["next_attempt_at"],
                name="event_unfinished",
                condition=models.Q(status__in=["pending", "processing", "failed"]),
            ),
            # The event log, newest first, whole or by status (and its per-status counts, capped).
            models.Index(fields=["-received_at", "-id"], name="event_received"),
            models.Index(fields=["status", "-received_at", "-id"], name="event_status_received"),
            # The event log filtered by type.
            models.Index(fields=["type", "-received_at"], name="event_type_received"),
            # An order's page lists the events about its session, invoice and subscription.
            models.Index(fields=["object_id"], name="event_object"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class WebhookDelivery(models.Model):
    """One HTTP request to the webhook endpoint, accepted or not."""

    class Result(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DUPLICATE = "duplicate", pgettext_lazy("webhook delivery result", "Duplicate")
        REJECTED = "rejected", _("Rejected")

    event = models.ForeignKey(
        WebhookEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    stripe_event_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    result = models.CharField(max_length=16, choices=Result.choices)
    status_code = models.PositiveSmallIntegerField()
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.result} {self.stripe_event_id or '-'} at {self.received_at:%Y-%m-%d %H:%M:%S}"

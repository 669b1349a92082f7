"""Webhook delivery: sign like Stripe, POST through one helper, record every attempt, schedule retries."""

from __future__ import annotations

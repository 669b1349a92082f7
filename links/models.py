"""Payment links and the orders paid through them.

A ``PaymentLink`` row mirrors a Stripe payment link (``plink_…``) and adds what Stripe's object has
not: an internal name, notes and a creation time. ``options`` keeps every link option exactly as the
Stripe API takes it (the create parameters other than ``line_items``), so what the merchant configures
is what Stripe receives.

An ``Order`` is one completed checkout session (``cs_…``): one row per session, enforced by the
database, whatever the number of webhook deliveries.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog import limits
from catalog.models import Price
from config.models import TimeStampedModel


class PaymentLink(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    name = models.CharField(
        _("name"), max_length=200, help_text=_("Internal name, never shown to customers.")
    )
    notes = models.TextField(_("notes"), blank=True)
    url = models.URLField(_("URL"), max_length=500)
    active = models.BooleanField(_("active"), default=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[limits.validate_currency])
    is_recurring = models.BooleanField(_("recurring"), default=False)
    options = models.JSONField(
        _("options"), default=dict, blank=True, validators=[limits.validate_link_options]
    )
    # Kept up to date by fulfilment so the list can sort by revenue without aggregating orders.
    revenue = models.BigIntegerField(_("revenue"), default=0)
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # What the links list's search reads: the name and the names of what the link sells, in one column
    # with one trigram index ("link_search_trgm", migration 0006, PostgreSQL only), so that PostgreSQL can
    # weigh one condition (a word in a fifth of the links: walk the newest; a rare one: the index).
    # Written by links.services.link_search_text_refresh, never by hand.
    search_text = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The links list's default order, and its "active" filter.
            models.Index(fields=["-created_at", "-id"], name="link_created"),
            models.Index(fields=["active", "-created_at"], name="link_active_created"),
            # The links list sorted by revenue, and by name (read forwards or backwards).
            models.Index(fields=["-revenue", "-id"], name="link_revenue"),
            models.Index(fields=["name", "id"], name="link_name"),
        ]

    def __str__(self) -> str:
        return self.name


class LinkTotal(models.Model):
    """The home page's running totals (links, active links, paid orders and revenue per currency), so
    that it reads a few rows however many links and orders there are.

    Added to in the same transaction as what they count (``links/totals.py``) and rebuilt from the tables
    after a bulk load. A total is the sum of its rows: paid orders add to one of several rows of their
    currency, so that concurrent workers do not all wait on one row's lock.
    """

    key = models.CharField(max_length=20)  # "links", "links_active" or "paid:<currency>"
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)  # minor units, for "paid:<currency>"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "shard"], name="link_total_key_shard")]

    def __str__(self) -> str:
        return f"{self.key}[{self.shard}]"


class DailyRevenue(models.Model):
    """The shop's money per day and currency, for the home page's chart: what paid orders received, what
    went back in refunds, and how many orders were paid, on the day (in the shop's time zone, ``TIME_ZONE``)
    the payment or the refund happened.

    Added to by ``links.revenue`` in the transaction that records the payment or the refund, and rebuilt
    from the orders after a bulk load (``links.daily_revenue``): 30 days of a currency are a few dozen rows
    however many orders there are. A day's figure is the sum of its rows: payments add to one of several
    rows of their day (``shard``), so that concurrent workers do not all wait on one row's lock.
    """

    day = models.DateField()
    currency = models.CharField(max_length=3)
    shard = models.PositiveSmallIntegerField(default=0)
    received = models.BigIntegerField(default=0)  # minor units
    refunded = models.BigIntegerField(default=0)  # minor units
    orders_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency", "shard"], name="daily_revenue_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}[{self.shard}]"


class LinkDailyRevenue(models.Model):
    """A link's money per day, as ``DailyRevenue`` for the shop: the link page's chart and the home page's
    top links, which read the rows of the last 30 days (at most one per link and day), never the orders.
    The link's row lock (``PaymentLink.revenue`` is updated in the same transaction) already orders
    concurrent writers, so one row per day is enough."""

    payment_link = models.ForeignKey("PaymentLink", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    currency = models.CharField(max_length=3)
    received = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)
    orders_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the link page's read: one link's days.
            models.UniqueConstraint(fields=["payment_link", "day", "currency"], name="link_daily_revenue_key")
        ]
        indexes = [
            # The top links of a period in a currency: a range of days, read from the index alone on
            # PostgreSQL (it holds the columns summed; INCLUDE would warn on SQLite).
            models.Index(
                fields=["currency", "day", "payment_link", "received", "refunded", "orders_count"],
                name="link_daily_revenue_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_link_id} {self.day} {self.currency}"


class PaymentLinkLineItem(models.Model):
    payment_link = models.ForeignKey(PaymentLink, on_delete=models.CASCADE, related_name="line_items")
    position = models.PositiveSmallIntegerField(default=0)
    stripe_id = models.CharField(_("Stripe ID"), max_length=255, blank=True)
    # A catalog price, or Stripe's ``price_data`` for an ad-hoc price (the resulting Stripe price id is
    # then in ``stripe_price_id``).
    price = models.ForeignKey(Price, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    price_data = models.JSONField(null=True, blank=True, validators=[limits.validate_price_data])
    stripe_price_id = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(
        _("quantity"), default=1, validators=[MaxValueValidator(limits.MAX_QUANTITY)]
    )
    adjustable_quantity = models.JSONField(
        _("adjustable quantity"), null=True, blank=True, validators=[limits.validate_adjustable_quantity]
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.stripe_price_id or self.description}"


class Order(TimeStampedModel):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FULFILLED = "fulfilled", _("Fulfilled")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        EXPIRED = "expired", pgettext_lazy("order status", "Expired")
        # A manual capture's authorisation canceled before any capture: the customer paid nothing.
        CANCELED = "canceled", pgettext_lazy("order status", "Canceled")

    class PaymentStatus(models.TextChoices):
        """The session's ``payment_status`` in words (the column keeps what Stripe sends, new values too)."""

        PAID = "paid", _("Paid")
        UNPAID = "unpaid", _("Unpaid")
        NO_PAYMENT_REQUIRED = "no_payment_required", _("No payment required")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # One order per checkout session, whatever the number of deliveries: the ledger's key.
    checkout_session_id = models.CharField(max_length=255, unique=True)
    payment_link = models.ForeignKey(
        PaymentLink, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    payment_status = models.CharField(_("payment status"), max_length=32, blank=True)
    customer_email = models.EmailField(_("e-mail"), blank=True)
    customer_name = models.CharField(_("name"), max_length=300, blank=True)
    # The link's name collection (``collected_information``), and the tax IDs of a business purchase.
    individual_name = models.CharField(_("full name"), max_length=300, blank=True)
    business_name = models.CharField(_("business name"), max_length=300, blank=True)
    customer_tax_ids = models.JSONField(_("tax IDs"), default=list, blank=True)
    customer_phone = models.CharField(_("phone"), max_length=64, blank=True)
    customer_id = models.CharField(max_length=255, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_details = models.JSONField(null=True, blank=True)
    shipping_rate_id = models.CharField(max_length=255, blank=True)
    # The shipping rate's name and (below) the promotion code as customers type it, stored at fulfilment
    # from the session (both expanded in the same request): the order page never calls the API, and shows
    # them even for a rate or code made in Stripe's Dashboard that the catalog has not mirrored.
    shipping_rate_name = models.CharField(
        _("shipping rate"), max_length=limits.SHIPPING_RATE_NAME_MAX_LENGTH, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount_subtotal = models.BigIntegerField(default=0)
    amount_discount = models.BigIntegerField(default=0)
    amount_shipping = models.BigIntegerField(default=0)
    amount_tax = models.BigIntegerField(default=0)
    amount_total = models.BigIntegerField(default=0)
    promotion_code = models.CharField(max_length=255, blank=True)  # the promo_… id
    promotion_code_text = models.CharField(  # SPRING
        _("promotion code"), max_length=limits.PROMOTION_CODE_MAX_LENGTH, blank=True
    )
    client_reference_id = models.CharField(max_length=200, blank=True)
    custom_fields = models.JSONField(default=list, blank=True)
    consent = models.JSONField(null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    # The PaymentIntent's state: ``requires_capture`` while a manual-capture payment is only authorised.
    payment_intent_status = models.CharField(max_length=32, blank=True)
    capture_method = models.CharField(max_length=32, blank=True)
    # A manual capture's authorisation, from the PaymentIntent and its charge: what may still be captured,
    # what was received (a capture of less than authorised receives less than the total), and the moment
    # the card's authorisation lapses (the charge's ``payment_method_details.card.capture_before``).
    amount_capturable = models.BigIntegerField(default=0)
    amount_received = models.BigIntegerField(default=0)
    capture_before = models.DateTimeField(null=True, blank=True)
    # ``on_session``/``off_session`` when the customer's payment method is kept for later payments.
    setup_future_usage = models.CharField(max_length=32, blank=True)
    # Whether the customer saw the payment method reuse agreement: "shown", "hidden", or "" (nothing saved).
    reuse_agreement = models.CharField(max_length=16, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    subscription_status = models.CharField(max_length=32, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    # What its succeeded refunds gave back (minor units): kept by ``links.refunds`` under the order's row
    # lock, in the transaction that counts each refund in the revenue. Net: amount_total - amount_refunded.
    amount_refunded = models.BigIntegerField(_("amount refunded"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The orders list's default order and the CSV export: newest first without sorting the table.
            models.Index(fields=["-created_at", "-id"], name="order_created"),
            # A link's page lists its orders, newest first.
            models.Index(fields=["payment_link", "-created_at"], name="order_link_created"),
            # The orders list filtered by status.
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            # The orders list sorted by total, either way: without it a page of a million orders sorts all.
            models.Index(fields=["-amount_total", "-id"], name="order_total"),
            # The orders list's search by a whole e-mail address (iexact: UPPER(customer_email) = UPPER(q)),
            # one customer's orders in constant time; part of an address goes to the trigram index below.
            # With the date after the address, the customer page reads a customer's orders newest first
            # from it, a page at a time, however many they have (and the customers' backfill finds each
            # one's latest name by it).
            models.Index(
                Upper("customer_email"), F("created_at").desc(), F("id").desc(), name="order_email_created"
            ),
            # The orders list's search ORs an e-mail substring (trigram index "order_email_trgm", in
            # migration 0003, PostgreSQL only) with equality on these ids: every branch of the OR needs an
            # index, or PostgreSQL scans the whole table whatever the e-mail's index. Partial: an order
            # without one of these ids adds nothing to its index. Fulfilment also finds the order of an
            # invoice or a subscription event by invoice_id and subscription_id.
            models.Index(
                fields=["client_reference_id"],
                condition=~models.Q(client_reference_id=""),
                name="order_client_reference",
            ),
            models.Index(
                fields=["payment_intent_id"],
                condition=~models.Q(payment_intent_id=""),
                name="order_payment_intent",
            ),
            models.Index(fields=["invoice_id"], condition=~models.Q(invoice_id=""), name="order_invoice"),
            # The orders list's "To capture" filter: the few authorisations waiting, newest first.
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(payment_intent_status="requires_capture"),
                name="order_to_capture",
            ),
            # The orders list's "Refunded" filter (fully or partially), newest first: partial, so it holds
            # the few refunded orders only; at a million orders the filter reads a page of it, not the table.
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(amount_refunded__gt=0),
                name="order_refunded",
            ),
            models.Index(
                fields=["subscription_id"], condition=~models.Q(subscription_id=""), name="order_subscription"
            ),
        ]

    def __str__(self) -> str:
        return self.checkout_session_id

    @property
    def amount_paid(self) -> int:
        """What the payment brought in: the total, or what a manual capture took."""
        from links.fulfilment import order_amount_received  # the one rule; fulfilment imports this module

        return order_amount_received(self)

    @property
    def amount_net(self) -> int:
        """What the shop keeps of the order: what it was paid less what was refunded."""
        return self.amount_paid - self.amount_refunded

    @property
    def is_fully_refunded(self) -> bool:
        return self.amount_refunded > 0 and self.amount_refunded >= self.amount_paid


class Dispute(TimeStampedModel):
    """A customer's dispute of an order's payment (``dp_…``), as Stripe has it: one row per dispute,
    written from its events (``links/disputes.py``)."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs a response")
        WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
        WARNING_CLOSED = "warning_closed", _("Inquiry closed")
        NEEDS_RESPONSE = "needs_response", _("Needs a response")
        UNDER_REVIEW = "under_review", _("Under review")
        APPEAL_NEEDS_RESPONSE = "appeal_needs_response", _("Appeal: needs a response")
        APPEAL_UNDER_REVIEW = "appeal_under_review", _("Appeal: under review")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        PREVENTED = "prevented", _("Prevented")

    class Reason(models.TextChoices):
        BANK_CANNOT_PROCESS = "bank_cannot_process", _("The bank could not process it")
        CHECK_RETURNED = "check_returned", _("Check returned")
        CREDIT_NOT_PROCESSED = "credit_not_processed", _("Refund or credit not processed")
        CUSTOMER_INITIATED = "customer_initiated", _("Initiated by the customer")
        DEBIT_NOT_AUTHORIZED = "debit_not_authorized", _("Debit not authorised")
        DUPLICATE = "duplicate", _("Charged twice")
        FRAUDULENT = "fraudulent", _("Fraudulent: the cardholder did not make the payment")
        GENERAL = "general", _("Other reason")
        INCORRECT_ACCOUNT_DETAILS = "incorrect_account_details", _("Incorrect account details")
        INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient funds")
        NONCOMPLIANT = "noncompliant", _("Not compliant with the card network's rules")
        PRODUCT_NOT_RECEIVED = "product_not_received", _("Product not received")
        PRODUCT_UNACCEPTABLE = "product_unacceptable", _("Product defective or not as described")
        SUBSCRIPTION_CANCELED = "subscription_canceled", _("Subscription canceled")
        UNRECOGNIZED = "unrecognized", _("Payment not recognised by the customer")

    # Statuses after which nothing more happens: the dispute is closed, won or lost.
    CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="disputes")
    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    charge_id = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(_("amount"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    # Kept as Stripe spells them (new values too); shown through the choices' labels.
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=32)
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.stripe_id

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def reason_label(self) -> str:
        return str(self.Reason(self.reason).label) if self.reason in self.Reason.values else self.reason

    @property
    def status_label(self) -> str:
        return str(self.Status(self.status).label) if self.status in self.Status.values else self.status


class OrderLineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    stripe_id = models.CharField(max_length=255, blank=True)
    price_id = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    currency = models.CharField(max_length=3)
    amount_subtotal = models.BigIntegerField(default=0)
    amount_discount = models.BigIntegerField(default=0)
    amount_tax = models.BigIntegerField(default=0)
    amount_total = models.BigIntegerField(default=0)
    # An optional item (cross-sell) the customer added on the payment page.
    optional = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description or self.price_id}"

    @property
    def unit_amount(self) -> int | None:
        """Each unit's amount before discount and tax, when the line has several units at one price (a tiered
        price's units differ: then None, and only the line's amount is shown)."""
        if self.quantity > 1 and self.amount_subtotal % self.quantity == 0:
            return self.amount_subtotal // self.quantity
        return None


class OrderStatusChange(models.Model):
    """An order's history: its status changes and what happened to its money (refunds, captures,
    disputes), who or what did it, and when."""

    class Action(models.TextChoices):
        STATUS = "status", _("Status changed")
        REFUND = "refund", _("Refunded")
        REFUND_FAILED = "refund_failed", _("Refund failed")
        CAPTURE = "capture", _("Captured")
        AUTHORIZATION_CANCELED = "authorization_canceled", _("Authorisation canceled")
        AUTHORIZATION_EXPIRED = "authorization_expired", _("Authorisation expired")
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        DISPUTE_CLOSED = "dispute_closed", _("Dispute closed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    action = models.CharField(max_length=32, choices=Action.choices, default=Action.STATUS)
    # For a status change, the status before (empty: the order was recorded) and after; empty otherwise.
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    # The money an action moved, in the order's currency and minor units (a refund, a capture, a dispute).
    amount = models.BigIntegerField(null=True, blank=True)
    # What the action says besides: a refund's reason and the staff's note, a dispute's reason.
    note = models.TextField(blank=True)
    actor = models.CharField(max_length=200, help_text=_("A staff username, or the event that caused it."))
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        if self.action != self.Action.STATUS:
            return f"{self.action} {self.amount if self.amount is not None else ''}".strip()
        return f"{self.from_status or '-'} → {self.to_status}"


class Refund(TimeStampedModel):
    """A refund of an order's payment (``re_…``), as Stripe last said, whoever made it: staff on the order
    page, or anyone through the API (Stripe's Dashboard). Written only by ``links.refunds.refund_record``,
    for the service and the webhook handlers alike, so it is recorded once whichever comes first."""

    class Status(models.TextChoices):
        # Stripe's refund statuses.
        PENDING = "pending", pgettext_lazy("refund status", "Pending")
        REQUIRES_ACTION = "requires_action", pgettext_lazy("refund status", "Requires action")
        SUCCEEDED = "succeeded", pgettext_lazy("refund status", "Succeeded")
        FAILED = "failed", pgettext_lazy("refund status", "Failed")
        CANCELED = "canceled", pgettext_lazy("refund status", "Canceled")

    class Reason(models.TextChoices):
        # Stripe's list of the reasons a refund may be given with.
        REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the customer")
        DUPLICATE = "duplicate", _("Duplicate payment")
        FRAUDULENT = "fraudulent", _("Fraudulent payment")

    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount = models.BigIntegerField(_("amount"))  # minor units of ``currency``
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=32)
    # Stripe's reason: one of ``Reason``, or another it may set itself (``expired_uncaptured_charge``).
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=64, blank=True)
    # The staff member who asked; None for a refund made elsewhere (Stripe's Dashboard, the API).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stripe_created = models.DateTimeField(null=True, blank=True)
    # What this refund has taken off the order's revenue so far: its amount once succeeded, 0 before and
    # again if it later failed. Each recording counts the difference to what it should be, under the
    # order's row lock, so a refund counts exactly once whatever the number and order of its events.
    counted_amount = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.stripe_id


class OutboundEmail(TimeStampedModel):
    """The e-mail outbox, and the ledger that makes each e-mail go out once per order, kind and Stripe object
    (an invoice e-mail's invoice, a refund e-mail's refund)."""

    class Kind(models.TextChoices):
        ORDER_CONFIRMATION = "order_confirmation", _("Order confirmation")
        INVOICE = "invoice", _("Invoice")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        STAFF_NOTIFICATION = "staff_notification", _("Staff notification")
        # To staff, once per dispute (its ``dp_…`` id is the e-mail's ``stripe_object_id``).
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened (staff)")
        REFUND = "refund", _("Refund")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The Stripe object an e-mail is about, when an order has several of its kind: the invoice of an
    # invoice e-mail (a subscription's order gets one for its first invoice and one for each renewal), the
    # refund of a refund e-mail (``re_…``). Empty for the kinds sent once per order.
    stripe_object_id = models.CharField(max_length=255, blank=True, default="")
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the sender that claimed the e-mail, until the end of its lease; cleared when it records the
    # outcome. Still set after the lease: the sender died between its claim and its record, so the e-mail
    # may or may not have gone out, and only staff's resend sends it again (at most once, never twice).
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The outbox page, newest first, whole or filtered by status, without sorting the table.
            models.Index(fields=["-created_at", "-id"], name="email_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="email_status_created"),
            # The outbox's search by recipient: one whole address, compared as iexact does (UPPER = UPPER).
            models.Index(Upper("to"), name="email_to_upper"),
            # The requeue task (every minute) looks only at e-mails not yet sent, a sliver of the outbox.
            models.Index(
                fields=["updated_at"],
                name="email_unsent",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            # The requeue task's look for senders that died mid-send: the few e-mails claimed right now.
            models.Index(
                fields=["claimed_until"],
                name="email_claimed",
                condition=models.Q(claimed_until__isnull=False),
            ),
        ]
        constraints = [
            # Exactly one e-mail of each kind per order (per invoice for invoice e-mails, per refund for
            # refund e-mails), however often its event is delivered.
            models.UniqueConstraint(
                fields=["order", "kind", "stripe_object_id"], name="one_email_per_order_kind_and_object"
            ),
        ]


# CONVERSION ----------------------------------------------------------------------------------------
# Stripe sends no event when a checkout session opens: the sessions a link opened are read from Stripe's
# list of checkout sessions (``links/conversion.py``); their completions and expiries also come with the
# ``checkout.session.completed`` and ``.expired`` events.


class CheckoutSessionSeen(models.Model):
    """The ledger behind the links' conversion: one row per checkout session of a payment link, whoever saw
    it first (the sessions list or an event) and however often it is seen again, so that it is counted once.

    Its status only moves from open to complete or expired (Stripe's sessions never go back), and each move
    is counted once: by the one UPDATE that finds the row still open.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETE = "complete"
        EXPIRED = "expired"

    session_id = models.CharField(max_length=255, unique=True)
    # The payment link's Stripe id (``plink_…``), not a key to ``PaymentLink``: a session may be seen before
    # its link is synced here, and still counts once the link is.
    link_stripe_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices)
    created = models.BigIntegerField()  # the session's, in Unix seconds on Stripe's clock
    expires_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The scan's look for sessions still open past their expiry (their event lost): a sliver.
            models.Index(fields=["expires_at"], name="session_seen_open", condition=models.Q(status="open")),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} ({self.status})"


class LinkConversion(models.Model):
    """A link's checkout sessions as counted in the ``CheckoutSessionSeen`` ledger, added to in the same
    transaction as its rows: the link page and the overview read one row per link, never the ledger."""

    link_stripe_id = models.CharField(max_length=255, unique=True)
    sessions_opened = models.BigIntegerField(default=0)
    sessions_completed = models.BigIntegerField(default=0)
    sessions_expired = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.link_stripe_id}: {self.sessions_completed}/{self.sessions_opened}"


class CheckoutSessionScan(models.Model):
    """Where the last read of Stripe's sessions list got to (one row): the next read starts a little before
    the newest session it saw, and the pages say when sessions were last read."""

    key = models.CharField(max_length=20, unique=True, default="all")
    # The newest ``created`` seen so far (Unix seconds, Stripe's clock); null before the first read.
    newest_created = models.BigIntegerField(null=True, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.newest_created}"


class Customer(models.Model):
    """Who paid, by e-mail address: one row per address however it is capitalised, with what the customers
    pages show, pre-aggregated so that they read a page of rows at any number of orders.

    Kept by ``links/customers.py`` in the transaction that records a first payment or a refund (through
    ``links.revenue``), and rebuilt from the orders by the same module (``customers_rebuild``) after a bulk
    load. The money is per currency, in ``CustomerSpend``; the links bought through, in ``CustomerLink``.
    """

    # The address as the database's UPPER() gives it: the same expression as the orders list's exact
    # search (``customer_email__iexact`` is UPPER(column) = UPPER(value), index "order_email_created"), so
    # a customer and their orders are matched by one rule. Written by SQL only (links/customers.py).
    email_key = models.CharField(max_length=254, unique=True, editable=False)
    # The address and the name as the latest order gave them (the name: the latest that was not blank).
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("name"), max_length=300, blank=True)
    # When the order that gave the name was placed: a name is replaced by a later one only, whatever the
    # order the payments arrive in (a delayed webhook, the rebuild).
    named_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Paid orders in every currency (an order counts once, when first paid; a refund does not uncount it).
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    first_order_at = models.DateTimeField(_("first order"))
    last_order_at = models.DateTimeField(_("last order"))

    class Meta:
        ordering = ["-last_order_at", "-id"]
        indexes = [
            # The customers list's default order (last order, newest first) and that sort reversed; also the
            # order of the customers who bought nothing in the shop's currency when sorted by total spent.
            models.Index(fields=["-last_order_at", "-id"], name="customer_last_order"),
            # The customers list sorted by number of orders, either way.
            models.Index(fields=["-orders_count", "-id"], name="customer_orders"),
            # The search by name or part of an address uses two trigram indexes (PostgreSQL only: migration
            # 0020, "customer_email_trgm" and "customer_name_trgm"); a whole address, the unique email_key.
        ]

    def __str__(self) -> str:
        return self.email


class CustomerSpend(models.Model):
    """What one customer spent in one currency, net of refunds: a shop may sell in several, and amounts in
    different currencies do not add up."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="spends")
    currency = models.CharField(_("currency"), max_length=3)
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    total = models.BigIntegerField(_("total spent"), default=0)  # minor units, net of refunds

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="customer_spend_currency"),
        ]
        indexes = [
            # The customers list sorted by total spent in the shop's currency: one currency's rows in total
            # order, read forwards or backwards, each joined to its customer by primary key.
            models.Index(fields=["currency", "-total", "-customer"], name="customer_spend_total"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} {self.total}"


class CustomerLink(models.Model):
    """A payment link a customer bought through, with their paid orders on it and the latest one's time."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="links")
    payment_link = models.ForeignKey(PaymentLink, on_delete=models.CASCADE, related_name="+")
    orders_count = models.PositiveIntegerField(default=0)
    last_order_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One row per customer and link (the upsert's conflict target); its index also serves "this
            # customer's links", the prefix being the customer.
            models.UniqueConstraint(fields=["customer", "payment_link"], name="customer_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.payment_link_id}"

"""An order in the merchant's words: its payment and fulfilment as badges, the names of its promotion code
and shipping rate, and amounts that add up to its total."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from catalog.models import PromotionCode, ShippingRate
from links.models import Dispute, Order, OrderLineItem, OrderStatusChange, Refund
from links.refunds import REFUND_DISPUTED, order_amount_refundable, order_refund_refusal


@dataclass(frozen=True)
class Badge:
    state: str  # its colour (paylinks.css, "Badges")
    label: str


def order_payment_badge(order: Order) -> Badge:
    """Where the money is: failed or expired checkouts, an authorisation still to capture, paid."""
    if order.status in (Order.Status.PAYMENT_FAILED, Order.Status.EXPIRED, Order.Status.CANCELED):
        return Badge(order.status, str(order.get_status_display()))
    if order.payment_intent_status == "requires_capture":
        return Badge("requires_capture", _("Authorised"))
    if order.status == Order.Status.AWAITING_PAYMENT:
        return Badge(order.status, str(order.get_status_display()))
    if order.payment_status == Order.PaymentStatus.NO_PAYMENT_REQUIRED:
        return Badge("no_payment_required", str(Order.PaymentStatus.NO_PAYMENT_REQUIRED.label))
    if order.is_fully_refunded:
        return Badge("refunded", _("Refunded"))
    if order.amount_refunded:
        return Badge("partially_refunded", _("Partially refunded"))
    return Badge("paid", str(Order.PaymentStatus.PAID.label))


def order_fulfilment_badge(order: Order) -> Badge:
    if order.status == Order.Status.FULFILLED:
        return Badge("fulfilled", str(Order.Status.FULFILLED.label))
    if order.status == Order.Status.PAID:
        return Badge("to_fulfil", pgettext("fulfilment status", "To fulfil"))
    return Badge("unfulfilled", pgettext("fulfilment status", "Not fulfilled"))


@dataclass(frozen=True)
class OrderNames:
    promotion_code: str  # the code customers type (SPRING), "" when unknown
    shipping_rate: str


def order_names(order: Order) -> OrderNames:
    """The names fulfilment stored with the order; for an order recorded before it did, the catalog's
    mirror (one query each, only then). Never the API: a page must not wait on Stripe, and "Refetch from
    Stripe" stores the names of an order that has neither."""
    promotion_code = order.promotion_code_text
    if not promotion_code and order.promotion_code:
        codes = PromotionCode.objects.filter(stripe_id=order.promotion_code).values_list("code", flat=True)
        promotion_code = codes.first() or ""
    shipping_rate = order.shipping_rate_name
    if not shipping_rate and order.shipping_rate_id:
        rates = ShippingRate.objects.filter(stripe_id=order.shipping_rate_id)
        shipping_rate = rates.values_list("display_name", flat=True).first() or ""
    return OrderNames(promotion_code=promotion_code, shipping_rate=shipping_rate)


@dataclass(frozen=True)
class OrderAmounts:
    """The items table: each line at its amount before discount and tax, so that the lines add up to the
    subtotal; then discount, shipping and the tax Stripe added (prices that exclude tax) to the total. Tax
    already in the prices (prices that include it) is shown as "including", never added twice."""

    lines: list[OrderLineItem]
    subtotal: int
    discount: int
    shipping: int
    tax_added: int
    tax_included: int
    total: int

    @property
    def tax_note(self) -> str:
        if self.tax_added and self.tax_included:
            return _("Some prices include tax, others exclude it: the tax they exclude is added below.")
        if self.tax_added:
            return _("Prices exclude tax: the tax is added to the total.")
        if self.tax_included:
            return _("Prices include tax: the total already contains it.")
        return ""


def order_amounts(order: Order, line_items: Iterable[OrderLineItem]) -> OrderAmounts:
    # Stripe's total is the subtotal, less the discount, plus shipping and the tax of prices that exclude
    # it: what remains of the session's tax was already in the prices (inclusive). Read from the amounts
    # rather than each price's tax behaviour, which the order does not keep (and a price may change).
    before_tax = order.amount_subtotal - order.amount_discount + order.amount_shipping
    tax_added = min(max(order.amount_total - before_tax, 0), order.amount_tax)
    return OrderAmounts(
        lines=list(line_items),
        subtotal=order.amount_subtotal,
        discount=order.amount_discount,
        shipping=order.amount_shipping,
        tax_added=tax_added,
        tax_included=order.amount_tax - tax_added,
        total=order.amount_total,
    )


@dataclass(frozen=True)
class HistoryEntry:
    change: OrderStatusChange
    what: str  # "Paid → Fulfilled", "Refunded", …: labels, not codes (the history is read by people)
    amount: int | None
    note: str


def _status_label(status: str) -> str:
    return str(Order.Status(status).label) if status in Order.Status.values else status


def _history_note(change: OrderStatusChange) -> str:
    """The note in words: a dispute's entries keep Stripe's codes (its reason when opened, its outcome
    when closed), shown with their labels in the page's language."""
    if change.action == OrderStatusChange.Action.DISPUTE_OPENED and change.note in Dispute.Reason.values:
        return str(Dispute.Reason(change.note).label)
    if change.action == OrderStatusChange.Action.DISPUTE_CLOSED and change.note in Dispute.Status.values:
        return str(Dispute.Status(change.note).label)
    return change.note


def order_history(order: Order) -> list[HistoryEntry]:
    """The order's history, oldest first. The first status change starts from no status: it reads as the
    status the order was recorded in, not "— → Paid"."""
    entries = []
    for change in order.status_changes.all():
        if change.action == OrderStatusChange.Action.STATUS:
            what = _status_label(change.to_status)
            if change.from_status:
                what = f"{_status_label(change.from_status)} → {what}"
        else:
            what = str(change.get_action_display())
        entries.append(
            HistoryEntry(change=change, what=what, amount=change.amount, note=_history_note(change))
        )
    return entries


@dataclass(frozen=True)
class RefundRow:
    refund: Refund
    badge: Badge
    reason: str  # Stripe's reason in words
    who: str  # the staff member who asked, or "Stripe" for one made elsewhere (its Dashboard, the API)


@dataclass(frozen=True)
class RefundPanel:
    """The order page's refunds: each refund, what was refunded and what the shop keeps, what remains to
    refund, and why no refund can be asked for now ("" when it can)."""

    rows: list[RefundRow]
    refunded: int
    net: int
    remaining: int
    refusal: str
    refusal_shown: bool  # said even with no refund yet: a paid order that cannot be refunded (disputed)


def refund_status_badge(refund: Refund) -> Badge:
    label = Refund.Status(refund.status).label if refund.status in Refund.Status.values else refund.status
    return Badge(refund.status, str(label))


def refund_reason_label(reason: str) -> str:
    return str(Refund.Reason(reason).label) if reason in Refund.Reason.values else reason


def order_refund_panel(order: Order) -> RefundPanel:
    refusal = order_refund_refusal(order=order)
    refunds = order.refunds.select_related("requested_by")
    rows = [
        RefundRow(
            refund=refund,
            badge=refund_status_badge(refund),
            reason=refund_reason_label(refund.reason),
            who=refund.requested_by.get_username() if refund.requested_by else "Stripe",
        )
        for refund in refunds
    ]
    return RefundPanel(
        rows=rows,
        refunded=order.amount_refunded,
        net=order.amount_net,
        remaining=order_amount_refundable(order),
        refusal=refusal,
        refusal_shown=bool(refusal) and (bool(rows) or refusal == str(REFUND_DISPUTED)),
    )

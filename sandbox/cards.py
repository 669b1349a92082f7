"""Stripe's test cards and what each one does (reference §8): success, or the decline Stripe gives."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from sandbox import clock


@dataclass(frozen=True)
class CardDecline:
    """A refused card: Stripe's ``code``/``decline_code`` and the message shown at the card field."""

    code: str
    message: str
    decline_code: str | None = None
    field: str = "card_number"


DECLINES = {
    "4000000000000002": CardDecline("card_declined", _("Your card was declined."), "generic_decline"),
    "4000000000009995": CardDecline(
        "card_declined", _("Your card has insufficient funds."), "insufficient_funds"
    ),
    "4000000000009987": CardDecline("card_declined", _("Your card was declined."), "lost_card"),
    "4000000000009979": CardDecline("card_declined", _("Your card was declined."), "stolen_card"),
    "4000000000000069": CardDecline(
        "expired_card", _("Your card has expired."), "expired_card", "card_expiry"
    ),
    "4000000000000127": CardDecline(
        "incorrect_cvc", _("Your card's security code is incorrect."), "incorrect_cvc", "card_cvc"
    ),
    "4000000000000119": CardDecline(
        "processing_error",
        _("An error occurred while processing your card. Try again in a little bit."),
        "processing_error",
    ),
    "4100000000000019": CardDecline("card_declined", _("Your card was declined."), "fraudulent"),
}
BRANDS = (
    ("4", "visa"),
    ("5", "mastercard"),
    ("2", "mastercard"),
    ("34", "amex"),
    ("37", "amex"),
    ("6", "discover"),
    ("35", "jcb"),
    ("30", "diners"),
    ("38", "diners"),
)


def digits(number: str) -> str:
    return re.sub(r"[\s-]", "", number or "")


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand(number: str) -> str:
    for prefix, name in sorted(BRANDS, key=lambda b: -len(b[0])):
        if number.startswith(prefix):
            return name
    return "unknown"


def parse_expiry(value: str) -> tuple[int, int] | None:
    """``"12/34"``, ``"12 / 2034"`` → (12, 2034); None if unreadable."""
    match = re.match(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$", value or "")
    if not match:
        return None
    month, year = int(match.group(1)), int(match.group(2))
    return month, year + 2000 if year < 100 else year


def expiry_in_past(month: int, year: int) -> bool:
    # On the sandbox clock, like the payment it guards.
    today = datetime.datetime.fromtimestamp(clock.now(), tz=datetime.UTC).date()
    return (year, month) < (today.year, today.month)


SUCCEEDING = frozenset(
    {
        "4242424242424242",
        "4000056655665556",
        "5555555555554444",
        "2223003122003222",
        "5200828282828210",
        "5105105105105100",
        "378282246310005",
        "371449635398431",
        "6011111111111117",
        "30569309025904",
        "38520000023237",
        "3566002020360505",
        "4000000000000077",
        "4000000000000259",
        "4000000000005126",
        "4000002500003155",
        "4000002760003184",
        "4000000000003220",
    }
)
# Cards whose payment succeeds and then something happens to it: a refund that fails a little later,
# a dispute opened at once (Stripe's "Refunds" and "Disputes" test cards).
REFUND_FAILS = frozenset({"4000000000005126"})
DISPUTED = frozenset({"4000000000000259"})
NOT_A_TEST_CARD = CardDecline(
    "card_declined",
    _("Your card was declined. Your request was in test mode, but used a non test card."),
    "test_mode_live_card",
)


def card_outcome(number: str) -> CardDecline | None:
    """None means the charge succeeds; like Stripe's test mode, only test card numbers succeed."""
    if number in REQUIRES_AUTHENTICATION:
        return REQUIRES_AUTHENTICATION[number]
    if number in SUCCEEDING:
        return None
    return DECLINES.get(number, NOT_A_TEST_CARD)


def last_day(month: int, year: int) -> datetime.date:
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


# Cards that need 3-D Secure on the hosted page; the value is the outcome once authenticated.
REQUIRES_AUTHENTICATION = {
    "4000002500003155": None,
    "4000002760003184": None,
    "4000000000003220": None,
    "4000008260003178": CardDecline(
        "card_declined", _("Your card has insufficient funds."), "insufficient_funds"
    ),
    "4000008400001629": CardDecline("card_declined", _("Your card was declined."), "generic_decline"),
}
AUTHENTICATION_FAILED = CardDecline(
    "payment_intent_authentication_failure",
    _(
        "We are unable to authenticate your payment method. Please choose a different payment method "
        "and try again."
    ),
    None,
)


def requires_authentication(number: str) -> bool:
    return number in REQUIRES_AUTHENTICATION


SEPA_DEBIT_FAILED = CardDecline(
    "payment_method_provider_decline", _("The bank account could not be debited."), None
)
# Stripe's SEPA test IBANs that fail after processing; any other valid IBAN succeeds.
FAILING_IBANS = frozenset({"AT861904300235473202", "DE62370400440532013001"})


def iban_ok(iban: str) -> bool:
    """The ISO 13616 mod-97 check."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1

"""Every dashboard page, and every e-mail, in French: no English left (issue 26, part 5).

Each dashboard page (the URL resolver's, with a populated shop: tests/ui/test_browser_layout.py's) is
asked for with a French browser, and its visible text (text, and the attributes people read or hear:
``aria-label``, ``title``, ``placeholder``, ``alt``, the labels a phone's stacked table shows, button
values) is compared with the English catalog, ``locale/fr/LC_MESSAGES/django.po``: a text that is one of its
msgids (or contains one, for a sentence) whose French differs was shown untranslated. A value shown as
the API spells it ("paid", "business_day", "opt_in") was shown raw: it needs a label. The e-mails are
rendered for a shop whose language is French, whatever the language of the request that sends them.

Beyond the resolver's pages: each form sent empty (its errors), an order with every detail a customer can
give and a link with every kind of option (their pages and editor), shipping rates with every kind of
delivery estimate. Country names in English are caught too (django-countries' names).

The catalog is the committed one, as makemessages regenerates it with the French filled in: a string added
to the code since, and not yet in the .po, is checked once it is; a string never marked for translation is
caught only when it is also a msgid or one of the raw values.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django_countries import countries

from catalog.models import ShippingRate
from links.emails import outbound_email_message, outbound_email_queue
from links.models import Order, OutboundEmail, PaymentLink, PaymentLinkLineItem
from tests.ui import test_browser_layout as layout
from tests.ui.test_browser_layout import shop  # noqa: F401 (the populated shop, a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

CATALOG = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
# Elements whose text nobody reads as the page's.
SILENT = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attributes read or heard: tooltips, accessible names, placeholders, what a stacked cell shows as its
# column (``data-label``, drawn by CSS) and what a copy button says once it has copied.
READ_ATTRIBUTES = {"aria-label", "aria-description", "title", "placeholder", "alt", "hx-confirm"}
BUTTON_INPUTS = {"submit", "button", "reset"}
# Stripe's values that the dashboard shows, as the API spells them (besides our models' choices): each
# must reach the page as a label, never as is.
STRIPE_VALUES = {
    # checkout session payment_status, status
    "paid", "unpaid", "no_payment_required", "open", "complete",
    # consent_collection
    "opt_in", "opt_out", "accepted", "none",
    # delivery estimates, recurring intervals
    "hour", "day", "business_day", "businessday", "week", "month", "year",
    # subscriptions
    "active", "past_due", "canceled", "trialing", "incomplete", "incomplete_expired", "paused",
    # payment intents
    "requires_capture", "requires_payment_method", "succeeded", "processing", "manual", "automatic",
    "on_session", "off_session",
}  # fmt: skip
# Where a text splits into what a label would be: "Promotions : opt_in · Conditions : accepted", "2–4 day".
SEGMENT_SEPARATORS = re.compile(r"\s*[·:;,/|()–—\-]\s*|\s+[×x]\s+")
LEADING_NUMBER = re.compile(r"^[\d\s.,]+")
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{[^}]*\}")
TAG = re.compile(r"<[^>]+>")
ADDRESS = re.compile(r"\S+://\S+|\S+@\S+")
# Markup inside a sentence; any other element starts a text of its own.
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "img", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
}  # fmt: skip


def _po_strings(path: Path) -> list[tuple[str, str | None, str, list[str]]]:
    """(context, msgid, msgid_plural, [msgstr…]) of every entry of a .po file but the header."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        obsolete = False
        for line in block.splitlines():
            if line.startswith("#~"):
                obsolete = True
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid", "msgid_plural") or keyword.startswith("msgstr"):
                current, fields[keyword] = keyword, ast.literal_eval(rest)
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid") and not obsolete:
            translations = [value for key, value in sorted(fields.items()) if key.startswith("msgstr")]
            context, plural = fields.get("msgctxt", ""), fields.get("msgid_plural")
            entries.append((context, fields["msgid"], plural, translations))
    return entries


@dataclass
class English:
    """What of the English catalog must not be seen on a French page: the msgids whose French differs."""

    exact: set[str] = field(default_factory=set)  # a whole text, or a segment of one
    # (msgid, its longest literal part, pattern): sentences, and short msgids with placeholders filled in.
    patterns: list[tuple[str, str, re.Pattern]] = field(default_factory=list)

    def add(self, msgid: str, french: list[str]) -> None:
        if any(_normal(msgid) == _normal(text) for text in french if text):
            return  # the same in both languages ("Total", "Stripe ID")
        for piece in TAG.split(msgid):  # a msgid with markup: each piece is a text of its own
            piece = _normal(piece)
            literals = [part.strip() for part in PLACEHOLDER.split(piece)]
            words = " ".join(literals).split()
            if not re.search(r"[A-Za-z]{2}", " ".join(words)):
                continue  # punctuation around placeholders
            if PLACEHOLDER.search(piece) or len(words) >= 3:
                regex = r".+?".join(re.escape(part) for part in PLACEHOLDER.split(piece))
                # A short one must be the whole text ("%(count)d orders"); a sentence may be inside one.
                anchored = len(words) < 3
                pattern = re.compile(rf"^{regex}$" if anchored else rf"(?<!\w){regex}(?!\w)")
                self.patterns.append((piece, max(literals, key=len), pattern))
            else:
                self.exact.add(piece)

    def found_in(self, text: str, segments: set[str]) -> list[str]:
        candidates = {text, *segments}
        found = sorted(self.exact & candidates)
        for msgid, literal, pattern in self.patterns:
            if literal in text and any(pattern.search(candidate) for candidate in candidates):
                found.append(msgid)
        return found


def _normal(text: str) -> str:
    return " ".join(text.split())


def _segments(text: str) -> set[str]:
    """The parts of a text a label could be: split at punctuation, numbers in front cut off, addresses
    (whose path has words: /orders/…) left out."""
    text = ADDRESS.sub(" ", text)
    return {LEADING_NUMBER.sub("", part).strip() for part in SEGMENT_SEPARATORS.split(text)} - {""}


def _english_catalog() -> English:
    english = English()
    for _context, msgid, plural, french in _po_strings(CATALOG / "django.po"):
        english.add(msgid, french)
        if plural:
            english.add(plural, french)
    return english


def _raw_values() -> set[str]:
    """The values of our models' choices whose label is not the value itself, and Stripe's."""
    values = set(STRIPE_VALUES)
    for model in apps.get_models():
        if model._meta.app_label not in {"links", "catalog", "webhooks"}:
            continue
        for model_field in model._meta.get_fields():
            for value, label in getattr(model_field, "choices", None) or []:
                if isinstance(value, str) and value != str(label):
                    values.add(value)
    return values


class _Texts(HTMLParser):
    """What a person reads or hears on a page: each text node and each attribute read aloud or shown
    (``texts``), and the whole text of each element that holds only text and inline markup, a sentence
    that markup splits (``Open <a>…</a> in Stripe``: ``sentences``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.sentences: list[str] = []
        self.stack: list[dict] = []  # open elements: tag, text parts, whether it holds a block
        self.silent = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attributes.items():
            if value and (name in READ_ATTRIBUTES or (name.startswith("data-") and name.endswith("label"))):
                self.texts.append(_normal(value))
        if tag == "input" and attributes.get("type") in BUTTON_INPUTS and attributes.get("value"):
            self.texts.append(_normal(attributes["value"]))
        if tag not in INLINE and self.stack:
            self.stack[-1]["block"] = True
        if tag in VOID:
            return
        if tag in SILENT:
            self.silent += 1
        self.stack.append({"tag": tag, "parts": [], "block": False, "elements": False})
        if len(self.stack) > 1:
            self.stack[-2]["elements"] = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID or not any(element["tag"] == tag for element in self.stack):
            return
        while self.stack:
            element = self.stack.pop()
            if element["tag"] in SILENT:
                self.silent -= 1
                continue
            text = _normal(" ".join(element["parts"]))
            if text and element["elements"] and not element["block"]:
                self.sentences.append(text)
            if self.stack:
                self.stack[-1]["parts"].append(text)
                self.stack[-1]["block"] |= element["block"]
            if element["tag"] == tag:
                break

    def handle_data(self, data):
        if self.silent or not data.strip():
            return
        self.texts.append(_normal(data))
        if self.stack:
            self.stack[-1]["parts"].append(data)


def _page_texts(html: str) -> tuple[list[str], list[str]]:
    """(texts, sentences) of a page, each once: see ``_Texts``."""
    parser = _Texts()
    parser.feed(html)
    parser.close()
    return list(dict.fromkeys(parser.texts)), list(dict.fromkeys(parser.sentences))


class Check:
    """Finds English and raw values in texts; each text is looked at once, however many pages show it."""

    def __init__(self, english: English | None = None, raw: set[str] | None = None) -> None:
        self.english = english or _english_catalog()
        self.raw = _raw_values() if raw is None else raw
        self.seen: dict[tuple[str, bool], list[tuple[str, str]]] = {}

    def _problems(self, text: str, sentence: bool) -> list[tuple[str, str]]:
        key = (text, sentence)
        if key not in self.seen:
            segments = set() if sentence else _segments(text)
            problems = [("in English", msgid) for msgid in self.english.found_in(text, segments)]
            if not sentence:
                problems += [("shown raw", value) for value in sorted(({text} | segments) & self.raw)]
            self.seen[key] = problems
        return self.seen[key]

    def __call__(self, texts: list[str], sentences: list[str] = ()) -> list[str]:
        """``in English: 'msgid' (in 'the text')``, ``shown raw: 'paid' (in '…')``: each msgid or value
        once, in the first (shortest) text that shows it."""
        found: dict[tuple[str, str], str] = {}
        for text, sentence in [*((t, False) for t in texts), *((s, True) for s in sentences)]:
            for problem in self._problems(text, sentence):
                found.setdefault(problem, text)
        return [f"{kind}: {value!r} (in {text[:120]!r})" for (kind, value), text in found.items()]


@pytest.fixture
def french_shop(settings, request):
    """The shop of test_browser_layout.py, in French (its e-mails are written in French), with what its
    payments do not show: an order with every detail a customer can give (consent, a subscription, a
    manual capture, a billing address abroad) and shipping rates with every kind of delivery estimate."""
    settings.LANGUAGE_CODE = "fr"
    populated = request.getfixturevalue("shop")
    detailed = Order.objects.create(
        checkout_session_id="cs_test_every_detail",
        payment_link=populated.link,
        status=Order.Status.AWAITING_PAYMENT,
        payment_status="unpaid",
        customer_email="hans@example.de",
        customer_name="Hans Muster",
        business_name="Muster GmbH",
        customer_tax_ids=[{"type": "eu_vat", "value": "DE123456789"}],
        billing_address={"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        shipping_details={"name": "Hans Muster", "address": {"line1": "Rue Neuve 2", "city": "Bruxelles",
                                                             "postal_code": "1000", "country": "BE"}},
        consent={"promotions": "opt_in", "terms_of_service": "accepted"},
        currency="eur",
        amount_subtotal=2000,
        amount_total=2000,
        capture_method="manual",
        payment_intent_id="pi_every_detail",
        payment_intent_status="requires_payment_method",
        setup_future_usage="off_session",
        reuse_agreement="shown",
        subscription_id="sub_every_detail",
        subscription_status="past_due",
    )  # fmt: skip
    estimates = [
        {"minimum": {"unit": "day", "value": 1}, "maximum": {"unit": "week", "value": 2}},
        {"minimum": {"unit": "hour", "value": 1}, "maximum": {"unit": "hour", "value": 1}},
        {"maximum": {"unit": "month", "value": 2}},
        {"minimum": {"unit": "business_day", "value": 1}},
    ]
    for n, estimate in enumerate(estimates):
        ShippingRate.objects.create(
            stripe_id=f"shr_estimate{n}", display_name=f"Rate {n}", amount=100, currency="eur",
            delivery_estimate=estimate,
        )  # fmt: skip
    populated.detailed_order = detailed
    populated.detailed_link = PaymentLink.objects.create(
        stripe_id="plink_every_option",
        name="Every option",
        url="http://testserver/sandbox/pay/test_every_option",
        currency="eur",
        options=EVERY_OPTION,
    )
    PaymentLinkLineItem.objects.create(
        payment_link=populated.detailed_link,
        price=populated.price,
        stripe_price_id=populated.price.stripe_id,
        adjustable_quantity={"enabled": True, "minimum": 1, "maximum": 5},
    )
    PaymentLinkLineItem.objects.create(
        payment_link=populated.detailed_link,
        position=1,
        description="Gift wrap",
        price_data={"currency": "eur", "unit_amount": 300, "product_data": {"name": "Gift wrap"},
                    "recurring": {"interval": "month", "interval_count": 3}},
    )  # fmt: skip
    return populated


# A link that sets one of each kind of option, as its page and its editor show them (not a link Stripe
# would take as a whole: only its display matters here).
EVERY_OPTION = {
    "allow_promotion_codes": True,
    "billing_address_collection": "required",
    "phone_number_collection": {"enabled": True},
    "tax_id_collection": {"enabled": True, "required": "if_supported"},
    "automatic_tax": {"enabled": True, "liability": {"type": "self"}},
    "consent_collection": {
        "terms_of_service": "required",
        "promotions": "auto",
        "payment_method_reuse_agreement": {"position": "hidden"},
    },
    "custom_fields": [
        {
            "key": "size",
            "label": {"type": "custom", "custom": "Taille"},
            "type": "dropdown",
            "dropdown": {"options": [{"label": "Petite", "value": "s"}, {"label": "Grande", "value": "l"}]},
            "optional": True,
        },
        {
            "key": "note",
            "label": {"type": "custom", "custom": "Mot"},
            "type": "text",
            "text": {"maximum_length": 50},
        },
    ],
    "custom_text": {"submit": {"message": "Merci !"}},
    "after_completion": {"type": "redirect", "redirect": {"url": "https://example.com/merci"}},
    "submit_type": "donate",
    "customer_creation": "always",
    "payment_method_types": ["card", "sepa_debit"],
    "invoice_creation": {"enabled": True, "invoice_data": {"footer": "Merci"}},
    "restrictions": {"completed_sessions": {"limit": 10}},
    "inactive_message": "Fermé pour l'été",
    "payment_intent_data": {"capture_method": "manual", "setup_future_usage": "off_session"},
    "name_collection": {
        "individual": {"enabled": True, "optional": False},
        "business": {"enabled": True, "optional": True},
    },
    "shipping_address_collection": {"allowed_countries": ["DE", "BE", "CH"]},
    "metadata": {"campagne": "été"},
}


# Forms sent empty: their errors must be in French too (a POST that validates nothing changes nothing).
EMPTY_POSTS = [
    "links:create",
    "links:edit",
    "catalog:product-create",
    "catalog:product-edit",
    "catalog:price-create",
    "catalog:shipping-rate-list",
    "catalog:coupon-list",
]


def _dashboard_pages(client, populated) -> list[tuple[str, str, str]]:
    """``(what, path, html)`` of every dashboard page, asked for by a French browser; then the forms
    sent empty, and the order with every detail."""
    arguments = layout._arguments(populated)
    pages = []
    for name, pattern in layout._dashboard_patterns():
        path = layout._url(name, pattern, arguments, populated)
        response = client.get(path, headers=FRENCH)
        if response.status_code == 405:
            continue  # an action: POST only
        assert response.status_code == 200, f"GET {path} ({name}) answered {response.status_code}"
        if response["Content-Type"].startswith("text/html"):
            pages.append((name, path, response.content.decode()))
        if name in EMPTY_POSTS:
            response = client.post(path, {}, headers=FRENCH)
            assert response.status_code in (200, 422), f"POST {path} ({name}) answered {response.status_code}"
            pages.append((f"{name}, sent empty", path, response.content.decode()))
    for what, path in [
        ("links:detail, every option", reverse("links:detail", args=[populated.detailed_link.public_id])),
        ("links:edit, every option", reverse("links:edit", args=[populated.detailed_link.public_id])),
        ("orders:detail, every detail", reverse("orders:detail", args=[populated.detailed_order.public_id])),
    ]:
        response = client.get(path, headers=FRENCH)
        assert response.status_code == 200, f"GET {path} ({what}) answered {response.status_code}"
        pages.append((what, path, response.content.decode()))
    return pages


def _english_countries() -> set[str]:
    """Country names in English that French names otherwise (not "France", "Canada")."""
    with translation.override("en"):
        english = dict(countries)
    with translation.override("fr"):
        french = dict(countries)
    return {name for code, name in english.items() if name != french[code]}


def test_every_dashboard_page_in_french_shows_no_english_and_no_raw_value(french_shop, client, staff_user):
    client.force_login(staff_user)
    check, english_countries = Check(), _english_countries()
    failures = []
    pages = _dashboard_pages(client, french_shop)
    for what, path, html in pages:
        assert '<html lang="fr">' in html, path
        texts, sentences = _page_texts(html)
        problems = check(texts, sentences)
        problems += [f"country in English: {text!r}" for text in texts if text in english_countries]
        failures += [f"{path} ({what}): {problem}" for problem in problems]
    assert not failures, "\n".join(failures)
    visited = {what for what, _, _ in pages}
    assert {
        "home",
        "links:detail",
        "orders:detail",
        "catalog:shipping-rate-list",
        "links:create, sent empty",
    } <= (visited)
    # Countries by their names, in French.
    detailed = _page_texts(pages[-1][2])[0]
    assert any("Allemagne" in text for text in detailed) and any("Belgique" in text for text in detailed)


def test_every_email_is_in_the_shops_language_whatever_the_requests(french_shop, settings):
    """Each kind of e-mail, queued and rendered during an English request (a customer's return to the
    success page, a staff member's resend)."""
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    check = Check()
    order = french_shop.order
    failures = []
    with translation.override("en"):
        for kind in OutboundEmail.Kind.values:
            OutboundEmail.objects.filter(order=order, kind=kind).delete()
            email = outbound_email_queue(order=order, kind=kind)
            message = outbound_email_message(email=email)
            html_texts, html_sentences = _page_texts(message.alternatives[0][0])
            texts = [message.subject, *filter(None, map(_normal, message.body.splitlines())), *html_texts]
            failures += [f"{kind} e-mail: {problem}" for problem in check(texts, html_sentences)]
            assert message.subject == email.subject != ""
    assert not failures, "\n".join(failures)


def test_the_check_finds_english_and_raw_values():
    """The check itself: an English msgid, a sentence with its placeholder filled, a raw value."""
    english = English()
    english.add("Payment status", ["Statut du paiement"])
    english.add("Total", ["Total"])
    english.add("orders", ["commandes"])
    english.add("Your order from %(merchant)s", ["Votre commande chez %(merchant)s"])
    english.add("%(count)d orders", ["%(count)d commandes"])
    english.add('Open <a href="%(url)s">the page</a> in a new tab', ["Ouvrir <a>la page</a> dans un onglet"])
    html = (
        '<p>Payment status</p><td data-label="Total">paid</td><p>2–4 business_day</p>'
        "<h1>Your order from <b>Paylinks</b></h1><span>3 orders</span><p>Total · 3 commandes</p>"
        '<p><a href="https://example.com/orders/1">https://example.com/orders/1</a></p>'
        '<p>Open <a href="/x">the page</a> in a new tab</p>'
        "<div><p>Payment</p><p>status</p></div>"
        "<script>var s = 'Payment status';</script>"
    )
    texts, sentences = _page_texts(html)
    assert Check(english, raw={"paid", "business_day"})(texts, sentences) == [
        "in English: 'Payment status' (in 'Payment status')",
        "shown raw: 'paid' (in 'paid')",
        "shown raw: 'business_day' (in '2–4 business_day')",
        "in English: 'orders' (in '3 orders')",
        "in English: '%(count)d orders' (in '3 orders')",
        "in English: 'Open' (in 'Open')",
        "in English: 'the page' (in 'the page')",
        "in English: 'in a new tab' (in 'in a new tab')",
        "in English: 'Your order from %(merchant)s' (in 'Your order from Paylinks')",
    ]
    # Neither the address's /orders/ nor "Payment" and "status" in two paragraphs, nor the script.

"""Junk posted to every dashboard form answers a 4xx or the form again, never a 5xx, and stores nothing.

The endpoints are the URL patterns whose view accepts POST (read from the resolver, not a list kept by
hand). Each example starts from the form as its page renders it, then drops fields, sets formset
management keys, other pages' fields and made-up keys to junk, and presses a button or two. The junk is
what broke views before: not numbers, huge, negative, NaN, NUL, long unicode. Stripe is a closed port,
so a form valid enough to reach it is refused too ("Stripe could not be reached"); a refused post (4xx)
that changed a row is a bug. Actions without fields (fulfil, resend, replay) may succeed: they act on
their object whatever else is posted.
"""

from __future__ import annotations

import inspect
import re
import socket
import uuid
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog.models import Coupon, PromotionCode
from config.roles import ADMINS, EDITORS, roles_ensure
from links.editor import SECTIONS
from links.models import Customer, OutboundEmail
from tests.catalog.factories import PriceFactory, ProductFactory
from tests.links.factories import LineItemFactory, OrderFactory, PaymentLinkFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

# Not the dashboard's forms: Django's admin and login, the sandbox (its own fuzz test), the webhook
# receiver (a signed machine endpoint), the health check and the benchmarks.
NOT_DASHBOARD_FORMS = ("admin/", "sandbox/", "accounts/", "webhooks/stripe/", "healthz", "bench/")
# Every object the URLs name shares one id, so that any route's arguments resolve to a real object.
OBJECT_ID = "fuzz_obj"
PUBLIC_ID = uuid.UUID("00000000-0000-4000-8000-000000000023")
# Formsets whose management form a page renders only in some states (the tiers, once "tiered").
FORMSET_PREFIXES = {"tiers", "line_items", "custom_fields"}
MANAGEMENT_KEYS = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
JUNK = [
    "",
    " ",
    "abc",
    "-1",
    "0",
    "1",
    "2",
    "3",
    "1000000000",
    str(2**31),
    str(2**63),
    "-" + str(2**63),
    "1e999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 5000,
    "0.0000001",
    "12.345",
    "99999999.99",
    "\x00",
    "a\x00b",
    "é" * 300,
    "💥" * 300,
    "x" * 50_001,
    "<script>alert(1)</script>",
    "true",
    "false",
    "on",
    "xxx",
    "usd",
    "jpy",
    "1999-01-01",
    "2999-12-31",
    "not a date",
    "https://example.com/{CHECKOUT_SESSION_ID}",
    OBJECT_ID,
    str(PUBLIC_ID),
]


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str, object]]:
    """(route, url name, view) of every named dashboard pattern."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            found += [(r, namespace + name, view) for r, name, view in _patterns(pattern, route)]
        elif isinstance(pattern, URLPattern) and pattern.name:
            found.append((route, pattern.name, pattern.callback))
    return [(r, name, view) for r, name, view in found if not r.startswith(NOT_DASHBOARD_FORMS)]


def _accepts_post(view) -> bool:
    """Whether ``require_http_methods`` (or require_POST/GET) somewhere in the view's decorators lets
    POST through; a view without one takes every method."""
    while view is not None:
        methods = inspect.getclosurevars(view).nonlocals.get("request_method_list")
        if methods is not None:
            return "POST" in methods
        view = getattr(view, "__wrapped__", None)
    return True


PATTERNS = _patterns()
POST_PATTERNS = [(route, name) for route, name, view in PATTERNS if _accepts_post(view)]


def test_the_fuzz_covers_the_dashboard_forms():
    names = {name for _route, name in POST_PATTERNS}
    assert {"links:create", "links:edit", "catalog:price-create", "catalog:coupon-list"} <= names
    assert "links:list" not in names  # GET only


@pytest.fixture
def _stripe_unreachable(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and closed once the probe is
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}/sandbox"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT = 2.0


@pytest.fixture
def objects():
    """One of each object a dashboard URL names, all under the same ids."""
    product = ProductFactory(stripe_id=OBJECT_ID)
    price = PriceFactory(stripe_id=OBJECT_ID, product=product)
    PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1, product=product)
    link = PaymentLinkFactory(public_id=PUBLIC_ID)
    LineItemFactory(payment_link=link, price=price)
    order = OrderFactory(public_id=PUBLIC_ID, payment_link=link)
    email = OutboundEmail.objects.create(
        order=order, kind="order_confirmation", to="a@example.com", subject="s"
    )
    coupon = Coupon.objects.create(stripe_id=OBJECT_ID, percent_off=10)
    PromotionCode.objects.create(stripe_id=OBJECT_ID, coupon=coupon, code="SPRING")
    WebhookEvent.objects.create(stripe_event_id=OBJECT_ID, type="product.updated", created=1, payload={})
    Customer.objects.create(
        email_key="A@EXAMPLE.COM",
        email="a@example.com",
        first_order_at=order.created_at,
        last_order_at=order.created_at,
    )
    return {
        "stripe_id": OBJECT_ID,
        "price_id": OBJECT_ID,
        "stripe_event_id": OBJECT_ID,
        **_customer_ids(),
    }, email


@pytest.fixture
def users(django_user_model):
    roles_ensure()
    editor = django_user_model.objects.create_user(username="fuzz-editor", password="x", is_staff=True)
    editor.groups.add(apps.get_model("auth", "Group").objects.get(name=EDITORS))
    admin = django_user_model.objects.create_user(username="fuzz-admin", password="x", is_staff=True)
    admin.groups.add(apps.get_model("auth", "Group").objects.get(name=ADMINS))
    return editor, admin


def _customer_ids() -> dict:
    return {"customer_id": Customer.objects.values_list("id", flat=True).get()}


def _url(route: str, name: str, ids: dict, email: OutboundEmail) -> str:
    kwargs = {}
    for arg in re.findall(r"<(?:\w+:)?(\w+)>", route):
        kwargs[arg] = {"public_id": PUBLIC_ID, "email_id": email.id, "kind": "png"}.get(arg, ids.get(arg))
    return reverse(name, kwargs=kwargs)


def _snapshot() -> dict:
    """Every row of the apps a dashboard form writes to (a few rows each in this test)."""
    return {
        model._meta.label: sorted(map(repr, model.objects.values_list()))
        for app in ("catalog", "links", "webhooks")
        for model in apps.get_app_config(app).get_models()
    }


class _FormReader(HTMLParser):
    """The fields a page renders: each input's, select's and textarea's name with a value it offers,
    the submit buttons' names, and every value offered."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: set[str] = set()
        self.values: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name, value = attrs.get("name"), attrs.get("value") or ""
        if value and len(value) < 60:
            self.values.add(value)
        if not name or name == "csrfmiddlewaretoken":
            return
        if tag == "button" or attrs.get("type") == "submit":
            self.buttons.add(name)
        elif tag == "input" and attrs.get("type") in ("checkbox", "radio"):
            if name not in self.fields or "checked" in attrs:
                self.fields[name] = value or "on"
        elif tag in ("input", "textarea"):
            self.fields[name] = value
        elif tag == "select":
            self._select = name
            self.fields.setdefault(name, "")
        if tag == "option" and self._select and value:
            if not self.fields.get(self._select) or "selected" in attrs:
                self.fields[self._select] = value

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


_PAGES: dict[str, _FormReader] = {}


def _page(client, url: str) -> _FormReader:
    """What ``url`` renders on GET (nothing for a POST-only action), read once per run."""
    if url not in _PAGES:
        reader = _FormReader()
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            reader.feed(response.content.decode())
        _PAGES[url] = reader
    return _PAGES[url]


def _all_urls() -> list[str]:
    ids = {"stripe_id": OBJECT_ID, "price_id": OBJECT_ID, "stripe_event_id": OBJECT_ID, **_customer_ids()}
    email = OutboundEmail.objects.get()
    return [_url(route, name, ids, email) for route, name, _view in PATTERNS]


def _posts(own: _FormReader, pages: list[_FormReader]):
    """The form as its page renders it, with some fields dropped, some values replaced by junk, junk
    formset counts, a button or two pressed, and keys the dashboard's other pages use."""
    names = sorted(set(own.fields).union(*(page.fields for page in pages)))
    buttons = sorted(own.buttons.union(*(page.buttons for page in pages)) | {"section"})
    values = sorted(own.values.union(*(page.values for page in pages)))
    prefixes = FORMSET_PREFIXES | {m.group(1) for n in names if (m := re.match(r"(\w+)-TOTAL_FORMS$", n))}
    rows = sorted({re.sub(r"-\d+-", "-{n}-", n) for n in names if re.search(r"-\d+-", n)}) or ["x-{n}-y"]
    keys = st.one_of(
        st.builds("{}-{}".format, st.sampled_from(sorted(prefixes)), st.sampled_from(MANAGEMENT_KEYS)),
        st.sampled_from(names or ["x"]),
        st.builds(lambda row, n: row.format(n=n), st.sampled_from(rows), st.integers(0, 60)),
        st.text(min_size=1, max_size=20),
    )
    junk = st.one_of(st.sampled_from(JUNK + values), st.text(max_size=40))
    return st.builds(
        _mutated,
        st.just(own.fields),
        st.sets(st.sampled_from(sorted(own.fields) or ["x"]), max_size=5),
        st.dictionaries(keys, st.lists(junk, min_size=1, max_size=2), max_size=8),
        st.dictionaries(st.sampled_from(buttons), st.sampled_from(["1", *SECTIONS, "junk"]), max_size=2),
    )


def _mutated(fields: dict, dropped: set, junk: dict, pressed: dict) -> dict:
    data = {name: [value] for name, value in fields.items() if name not in dropped}
    return {**data, **junk, **{name: [value] for name, value in pressed.items()}}


@pytest.mark.parametrize(("route", "name"), POST_PATTERNS, ids=[name for _route, name in POST_PATTERNS])
@pytest.mark.usefixtures("_stripe_unreachable")
def test_junk_posted_to_a_dashboard_form_never_answers_5xx_nor_stores(client, objects, users, route, name):
    ids, email = objects
    url = _url(route, name, ids, email)
    editor, admin = users
    client.raise_request_exception = False
    client.force_login(admin)  # who sees every form
    pages, own = [_page(client, u) for u in _all_urls()], _page(client, url)
    client.force_login(editor)
    if client.post(url, {}).status_code == 403:  # an admin's page: fuzz it as the admin
        client.force_login(admin)

    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=_posts(own, pages), htmx=st.booleans())
    def post_junk(data, htmx):
        before = _snapshot()
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(url, data, headers=headers)
        assert response.status_code < 500, (data, response.status_code)
        if response.status_code >= 400:  # refused (an action without fields may well succeed)
            assert _snapshot() == before, data

    post_junk()

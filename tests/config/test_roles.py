"""The role rule, for every staff URL: viewers read, editors change, admins also manage settings.

No list of URLs is kept here: every pattern is taken from the URL resolver (the dashboard's and the
sandbox's developer pages), its path converters filled with the ids of objects the fixture makes. Public
views are left out by their ``login_not_required`` mark, and the Django admin by its namespace (its own
gate: superusers only, config/admin.py).
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from catalog.models import Coupon, PromotionCode, ShippingRate
from config.roles import staff_role_set
from links.models import Customer, Order, OutboundEmail
from sandbox.models import WebhookDelivery
from tests.links.factories import LineItemFactory, OrderFactory
from tests.webhooks.conftest import make_event
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

UNSAFE_METHODS = ("post", "put", "patch", "delete")
CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


# THE WALK ------------------------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver) and entry.app_name == "admin":
            continue  # the Django admin has its own gate: superusers only (config/admin.py)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _is_staff_view(pattern: URLPattern) -> bool:
    # False for public views: the webhook receiver, the sandbox API and hosted pages, login.
    return getattr(pattern.callback, "login_required", True)


def _staff_urls(*, values: dict[str, list], probe: Client) -> list[tuple[str, object]]:
    """(path, view) for every staff pattern. A converter whose name has several candidate ids (a
    ``stripe_id`` may be a product's or a coupon's) gets the first one that names an existing object."""
    urls = []
    for route, pattern in _patterns(get_resolver()):
        if not _is_staff_view(pattern):
            continue
        assert "^" not in route and "(?P" not in route, f"fill this regex route by hand: {route}"
        names = [match["name"] for match in CONVERTER.finditer(route)]
        missing = [name for name in names if name not in values]
        assert not missing, f"no test object for {missing} in {route}: add one to the fixture"
        paths = [_fill(route, combo) for combo in itertools.product(*(values[name] for name in names))]
        found = next((path for path in paths if _objects_exist(path, probe)), paths[0])
        assert resolve(found).func is pattern.callback, (route, found)
        urls.append((found, pattern.callback))
    return urls


def _objects_exist(path: str, probe: Client) -> bool:
    """Whether the ids in ``path`` are of objects its view finds: its GET is not a 404, or for a view that
    takes no GET (a POST-only action), its nearest page up the path is not."""
    while path != "/":
        try:
            resolve(path)
        except Resolver404:
            pass
        else:
            status = probe.get(path).status_code
            if status != 405:
                return status != 404
        path = path.rstrip("/").rsplit("/", 1)[0] + "/"
    return False


def _fill(route: str, combo: tuple) -> str:
    chosen = iter(combo)  # in the order the converters appear
    return "/" + CONVERTER.sub(lambda _match: str(next(chosen)), route)


@pytest.fixture
def personas(django_user_model) -> dict[str, object]:
    """A real user for each role; staff in no role group keep the editor's rights (config.roles)."""
    users = {}
    for name, role in (("viewer", "Viewers"), ("editor", "Editors"), ("admin", "Admins"), ("norole", "")):
        user = django_user_model.objects.create_user(username=name, password="x-long-password", is_staff=True)
        staff_role_set(user=user, role=role)
        users[name] = user
    return users


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _signed_in(client: Client, user) -> Client:
    # The logout view, allowed to viewers, ends the session it is sent.
    if client.session.get("_auth_user_id") != str(user.pk):
        client.force_login(user)
    return client


@pytest.fixture
def path_values(sandbox, stripe_client) -> dict[str, list]:
    """Candidate values for each path converter, by name: one object of each kind a staff URL names, and
    a sandbox event with a delivery to resend."""
    item = LineItemFactory()
    order = OrderFactory(payment_link=item.payment_link, status=Order.Status.PAID)
    email = OutboundEmail.objects.create(
        order=order, kind=OutboundEmail.Kind.ORDER_CONFIRMATION, to=order.customer_email, subject="Thanks"
    )
    coupon = Coupon.objects.create(stripe_id="roles_coupon", name="Ten off", percent_off=10)
    code = PromotionCode.objects.create(stripe_id="promo_roles", coupon=coupon, code="TEN")
    ShippingRate.objects.create(stripe_id="shr_roles", display_name="Post", amount=500, currency="usd")
    data = make_event("checkout.session.completed")
    event = WebhookEvent.objects.create(
        stripe_event_id=data["id"],
        type=data["type"],
        created=data["created"],
        payload=data,
        status=WebhookEvent.Status.FAILED,
    )
    stripe_client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["product.created"]}
    )
    stripe_client.v1.products.create(params={"name": "Lamp"})
    customer = Customer.objects.create(
        email_key=order.customer_email.upper(),
        email=order.customer_email,
        first_order_at=order.created_at,
        last_order_at=order.created_at,
    )
    return {
        "stripe_id": [item.price.product.stripe_id, coupon.stripe_id, code.stripe_id],
        "price_id": [item.price.stripe_id],
        "public_id": [item.payment_link.public_id, order.public_id],
        "kind": ["png"],
        "email_id": [email.id],
        "stripe_event_id": [event.stripe_event_id],
        "delivery_id": [WebhookDelivery.objects.get().pk],
        "customer_id": [customer.id],
    }


@pytest.fixture
def staff_urls(path_values, personas) -> list[tuple[str, object]]:
    urls = _staff_urls(values=path_values, probe=_as(personas["admin"]))
    # The walk reaches both apps' staff pages, and the views the issue found unguarded.
    found = {resolve(path).view_name for path, _view in urls}
    assert {"orders:fulfil", "webhooks:event-replay", "sandbox:clock_advance", "settings"} <= found
    return urls


# UNSAFE METHODS ------------------------------------------------------------------------------------


def test_every_unsafe_request_follows_the_role_rule(staff_urls, personas):
    clients = {persona: _as(user) for persona, user in personas.items()}
    wrong = []
    for (path, view), method in itertools.product(staff_urls, UNSAFE_METHODS):
        admin_only = getattr(view, "settings_required", False)
        for persona, user in personas.items():
            status = getattr(_signed_in(clients[persona], user), method)(path).status_code
            if persona == "admin":
                refused = False
            elif persona == "viewer":
                refused = admin_only or not getattr(view, "viewer_allowed", False)
            else:
                refused = admin_only
            if (status == 403) != refused:
                wrong.append(f"{method.upper()} {path} as {persona}: {status}, expected 403: {refused}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_a_refused_viewer_sees_why_and_whom_to_ask_and_nothing_changes(personas):
    order = OrderFactory(status=Order.Status.PAID)
    response = _as(personas["viewer"]).post(f"/orders/{order.public_id}/fulfil/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "needs the Editors role" in page and "your account has the Viewers role" in page
    assert "An administrator can change your role in Settings: admin." in page
    assert 'action="/accounts/logout/"' in page  # the dashboard's layout, which a viewer can leave
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.fulfilled_at is None


@pytest.mark.django_db
def test_admin_only_pages_say_so(personas, other_user):
    response = _as(personas["editor"]).get("/settings/")
    assert response.status_code == 403
    assert "This page needs the Admins role." in response.content.decode()
    # Someone who is not staff learns nothing about who runs the shop.
    customer = _as(other_user).get("/settings/").content.decode()
    assert "Your account does not give access to this page." in customer
    assert "change your role" not in customer


@pytest.mark.django_db
def test_viewers_can_log_out(personas):
    client = _as(personas["viewer"])
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


# WHAT VIEWERS ARE SHOWN ----------------------------------------------------------------------------


class _Controls(HTMLParser):
    """What a page offers to do: forms that POST, htmx attributes that write, and links."""

    def __init__(self, page: str):
        super().__init__()
        self.page = page
        self.writes: list[str] = []  # the URLs they send to
        self.links: list[str] = []
        self.editor_required = False  # the notice that replaces an editing form for viewers

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.editor_required |= "data-editor-required" in attrs
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.writes.append(urljoin(self.page, attrs.get("action") or ""))
        for verb in ("hx-post", "hx-put", "hx-patch", "hx-delete"):
            if verb in attrs:
                self.writes.append(urljoin(self.page, attrs[verb] or ""))
        if tag == "a" and attrs.get("href"):
            self.links.append(urljoin(self.page, attrs["href"]))


def _view(url: str):
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver"):
        return None
    try:
        return resolve(parts.path)
    except Resolver404:
        return None


def _pages(client: Client, staff_urls) -> dict[str, tuple[int, _Controls | None]]:
    """Each staff page as ``client`` gets it: its status, and its controls when it is HTML."""
    pages = {}
    for path, _view_func in staff_urls:
        response = client.get(path)
        controls = None
        if response.get("Content-Type", "").startswith("text/html"):
            controls = _Controls(path)
            controls.feed(response.content.decode())
        pages[path] = (response.status_code, controls)
    return pages


def test_viewers_are_shown_no_form_or_button_they_cannot_use(staff_urls, personas):
    viewer_pages = _pages(_as(personas["viewer"]), staff_urls)
    wrong = []
    for path, view in staff_urls:
        status, _controls = viewer_pages[path]
        if (status == 403) != bool(getattr(view, "settings_required", False)):
            wrong.append(f"GET {path} as viewer: {status}")
    # Pages that are only a form to change something tell a viewer so, instead of showing the form.
    editor_only = {
        resolve(path).view_name
        for path, (_status, controls) in viewer_pages.items()
        if controls and controls.editor_required
    }
    for path, (_status, controls) in viewer_pages.items():
        for url in controls.writes if controls else ():
            match = _view(url)
            if match is None or not getattr(match.func, "viewer_allowed", False):
                wrong.append(f"{path} offers a viewer to send {url}")
        for url in controls.links if controls else ():
            match = _view(url)
            if urlsplit(url).path == path:
                continue  # an anchor on the page itself (skip to content)
            if match is not None and match.view_name in editor_only:
                wrong.append(f"{path} offers a viewer a link to {url}")
    assert not wrong, "\n".join(wrong)

    assert {
        "catalog:product-create",
        "catalog:product-edit",
        "catalog:price-create",
        "links:create",
        "links:edit",
        "links:set-active",
    } <= editor_only
    # The same pages do offer those controls to an editor: the walk reached them.
    offered = {
        match.view_name
        for _status, controls in _pages(_as(personas["editor"]), staff_urls).values()
        if controls
        for url in (*controls.writes, *controls.links)
        if (match := _view(url)) is not None
    }
    assert {
        "orders:fulfil",
        "orders:refetch",
        "orders:email-resend",
        "webhooks:event-replay",
        "sandbox:delivery_resend",
        "sandbox:clock_advance",
        "sandbox:settings",
        "catalog:product-active",
        "catalog:price-active",
        "catalog:promotion-code-active",
        "catalog:coupon-list",
        "catalog:coupon-detail",
        "catalog:shipping-rate-list",
        *editor_only,
    } <= offered


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "for_viewers", "for_editors"),
    [
        ("catalog:coupon-list", "No coupons yet.", "No coupons yet: create the first one below."),
        (
            "catalog:shipping-rate-list",
            "No shipping rates yet.",
            "No shipping rates yet: add the first one below.",
        ),
    ],
)
def test_empty_lists_invite_only_editors_to_create(django_user_model, url_name, for_viewers, for_editors):
    from django.urls import reverse

    viewer = django_user_model.objects.create_user(username="vera", is_staff=True)
    staff_role_set(user=viewer, role="Viewers")
    editor = django_user_model.objects.create_user(username="eddie", is_staff=True)
    staff_role_set(user=editor, role="Editors")

    seen_by_viewer = _signed_in(Client(), viewer).get(reverse(url_name)).content.decode()
    seen_by_editor = _signed_in(Client(), editor).get(reverse(url_name)).content.decode()

    assert for_viewers in seen_by_viewer and for_editors not in seen_by_viewer
    assert for_editors in seen_by_editor

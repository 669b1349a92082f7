"""Staff only, CSRF on every POST (HTMX included), CSP on every page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# The only views reachable without a staff login: Stripe's and the sandbox's machine endpoints
# (authenticated by signature or API key), the health check, the login page itself, and the order
# success page that customers reach after paying (it shows one order, found by its checkout session).
PUBLIC_VIEW_PREFIXES = (
    "sandbox:",
    "webhooks:stripe",
    "healthz",
    "login",
    "logout",
    "admin:",
    "orders:success",
)


def _named_patterns(patterns, namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or pattern.lookup_str}", pattern.callback


def test_every_dashboard_view_requires_login():
    public = [
        name
        for name, view in _named_patterns(get_resolver().url_patterns)
        if not getattr(view, "login_required", True) and not name.startswith(PUBLIC_VIEW_PREFIXES)
    ]

    assert public == []


DASHBOARD_PAGES = [
    "home",
    "links:list",
    "links:create",
    "catalog:product-list",
    "catalog:product-create",
    "orders:list",
    "webhooks:event-list",
]


@pytest.mark.parametrize("name", DASHBOARD_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", DASHBOARD_PAGES)
def test_signed_in_users_without_staff_status_are_refused(client, other_user, name):
    client.force_login(other_user)

    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", DASHBOARD_PAGES)
def test_staff_see_the_page_with_a_strict_csp(staff_client, name):
    response = staff_client.get(reverse(name))

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp


def test_a_post_without_csrf_token_is_refused(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post(reverse("catalog:product-create"), {"name": "Mug"})

    assert response.status_code == 403


def test_an_htmx_post_without_csrf_header_is_refused(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post(reverse("catalog:product-create"), {"name": "Mug"}, headers={"HX-Request": "true"})

    assert response.status_code == 403


def test_pages_carry_the_csrf_header_for_htmx(staff_client):
    response = staff_client.get(reverse("home"))

    assert 'hx-headers=\'{"x-csrftoken": "' in response.content.decode()


def test_the_webhook_endpoint_needs_no_login_or_csrf():
    response = Client(enforce_csrf_checks=True).post(
        reverse("webhooks:stripe"), b"{}", content_type="application/json"
    )

    assert response.status_code == 400  # refused for its missing signature, not for CSRF or login


def test_the_django_admin_is_for_superusers_only(client, staff_user, django_user_model):
    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 302  # a staff member is sent to the admin's login

    superuser = django_user_model.objects.create_superuser(username="root", password="another-long-password")
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200

"""Sign-in throttling (django-axes) through the real login view: lockout, its page, cool-off, unlock, log."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from config.roles import ADMINS, EDITORS, staff_role_set

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the conftest personas'
ATTACKER, OTHER = "203.0.113.7", "198.51.100.20"


def _sign_in(client: Client, username: str, password: str, address: str, **headers):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _lock_out(client: Client, username: str, address: str = ATTACKER, **headers):
    responses = [_sign_in(client, username, f"wrong-{n}", address, **headers) for n in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    return responses[-1]


def test_five_wrong_passwords_lock_the_account_out_from_that_address_even_with_the_right_one(
    client, staff_user
):
    locked = _lock_out(client, "alice")

    right = _sign_in(client, "alice", PASSWORD, ATTACKER)

    assert right.status_code == 429
    assert not _signed_in(client)
    page = right.content.decode()
    assert "Too many failed sign-ins for this account or from your address." in page
    assert "Try again in 15 minutes" in page
    assert 'class="brand"' in page  # our layout, not axes' plain text
    assert "Too many failed sign-ins" in locked.content.decode()


def test_the_lockout_page_is_in_the_language_of_the_browser(client, staff_user):
    _lock_out(client, "alice")

    response = _sign_in(client, "alice", PASSWORD, ATTACKER, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 429
    assert 'lang="fr"' in response.content.decode()


def test_wrong_passwords_below_the_limit_do_not_lock(client, staff_user):
    for n in range(4):
        assert _sign_in(client, "alice", f"wrong-{n}", ATTACKER).status_code == 200

    assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 302
    assert _signed_in(client)


def test_other_accounts_from_other_addresses_are_not_locked(client, staff_user, django_user_model):
    django_user_model.objects.create_user(username="bob", password=PASSWORD, is_staff=True)
    _lock_out(client, "alice")

    bob = Client()
    assert _sign_in(bob, "bob", PASSWORD, OTHER).status_code == 302
    assert _signed_in(bob)


def test_guessing_one_account_from_many_addresses_locks_the_account(client, staff_user):
    for n in range(5):
        _sign_in(client, "alice", f"wrong-{n}", f"192.0.2.{n}")

    alice = Client()
    assert _sign_in(alice, "alice", PASSWORD, OTHER).status_code == 429
    assert not _signed_in(alice)


def test_trying_many_accounts_from_one_address_locks_the_address(client, staff_user, django_user_model):
    django_user_model.objects.create_user(username="bob", password=PASSWORD, is_staff=True)
    for n in range(5):
        _sign_in(client, f"user-{n}", "password1", ATTACKER)

    assert _sign_in(Client(), "bob", PASSWORD, ATTACKER).status_code == 429
    assert _sign_in(Client(), "bob", PASSWORD, OTHER).status_code == 302


def test_the_account_signs_in_again_after_the_cool_off(client, staff_user, settings):
    _lock_out(client, "alice")
    assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 429

    settings.AXES_COOLOFF_TIME = timedelta(milliseconds=200)
    time.sleep(0.3)

    assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 302
    assert _signed_in(client)


def test_the_lockout_is_logged_with_the_username_and_address_but_never_the_password(
    client, staff_user, caplog
):
    with caplog.at_level(logging.INFO):
        _lock_out(client, "alice")

    lockouts = [r for r in caplog.records if r.name.startswith("axes") and "Locking out" in r.getMessage()]
    assert lockouts and lockouts[0].levelno == logging.WARNING
    assert "alice" in lockouts[0].getMessage() and ATTACKER in lockouts[0].getMessage()
    assert "wrong-" not in caplog.text


def test_an_admin_lifts_the_lockout_from_the_settings_page(client, staff_user, django_user_model):
    _lock_out(client, "alice")
    admin = django_user_model.objects.create_user(username="ada", password=PASSWORD, is_staff=True)
    staff_role_set(user=admin, role=ADMINS)
    admin_client = Client()
    admin_client.force_login(admin)

    page = admin_client.get(reverse("settings"))
    assert page.status_code == 200
    lockouts = page.context["lockouts"]
    assert sorted((lockout.parameter, lockout.value, lockout.failures) for lockout in lockouts) == [
        ("ip_address", ATTACKER, 5),
        ("username", "alice", 5),
    ]
    assert "Locked-out sign-ins" in page.content.decode()

    unlock = reverse("settings-unlock")
    response = admin_client.post(unlock, {"parameter": "username", "value": "alice"}, follow=True)

    assert response.status_code == 200
    assert "alice can sign in again." in response.content.decode()
    assert response.context["lockouts"] == []  # axes' records were the pair's: both lifted
    assert _sign_in(client, "alice", PASSWORD, ATTACKER).status_code == 302


def test_an_admin_lifts_an_address_lockout(client, staff_user, django_user_model):
    for n in range(5):
        _sign_in(client, f"user-{n}", "password1", ATTACKER)
    admin = django_user_model.objects.create_user(username="ada", password=PASSWORD, is_staff=True)
    staff_role_set(user=admin, role=ADMINS)
    admin_client = Client()
    admin_client.force_login(admin)

    unlock = reverse("settings-unlock")
    response = admin_client.post(unlock, {"parameter": "ip_address", "value": ATTACKER}, follow=True)

    assert f"Sign-ins from {ATTACKER} are allowed again." in response.content.decode()
    assert response.context["lockouts"] == []
    assert _sign_in(Client(), "alice", PASSWORD, ATTACKER).status_code == 302


def test_unlocking_needs_the_admins_role_and_a_listed_lockout(client, staff_user, django_user_model):
    _lock_out(client, "alice")
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.get()
    editor = django_user_model.objects.create_user(username="ed", password=PASSWORD, is_staff=True)
    staff_role_set(user=editor, role=EDITORS)
    editor_client = Client()
    editor_client.force_login(editor)

    unlock = reverse("settings-unlock")
    assert editor_client.post(unlock, {"parameter": "username", "value": "alice"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()

    admin = django_user_model.objects.create_user(username="ada", password=PASSWORD, is_staff=True)
    staff_role_set(user=admin, role=ADMINS)
    admin_client = Client()
    admin_client.force_login(admin)
    for data in ({"parameter": "username", "value": "nobody"}, {"parameter": "password", "value": "alice"}):
        response = admin_client.post(unlock, data, follow=True)
        assert response.status_code == 200
        assert "That lockout has already been lifted." in response.content.decode()
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(
    client, staff_user, settings, django_user_model
):
    settings.BEHIND_TLS_PROXY = True
    proxy = "10.0.0.2"
    # An attacker varies the X-Forwarded-For it sends; the proxy appends the address it really saw.
    for n in range(5):
        forwarded = f"192.0.2.{n}, {ATTACKER}"
        response = _sign_in(client, "alice", f"wrong-{n}", proxy, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 429

    # The attacker's address is locked, not the proxy's: bob, behind the same proxy, signs in.
    bob = django_user_model.objects.create_user(username="bob", password=PASSWORD, is_staff=True)
    assert _sign_in(Client(), bob.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=OTHER).status_code == 302
    assert _sign_in(Client(), bob.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429

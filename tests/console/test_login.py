"""Staff sign-in: attempts limited per account and per address (django-axes), a clear lockout
page, and the admin's URL prefix taken from the settings."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "e@example.org", "right-pw-9x")


def sign_in(client, username: str, password: str, ip: str = "198.51.100.4"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_it_locks_an_account_after_repeated_wrong_passwords(client, editor, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "editor", f"wrong-{n}").status_code == 200
    locked = sign_in(client, "editor", "wrong-last")
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.text
    assert "30 minutes" in locked.text

    # The right password no longer helps, from this address or another.
    assert sign_in(client, "editor", "right-pw-9x").status_code == 429
    assert sign_in(client, "editor", "right-pw-9x", ip="203.0.113.9").status_code == 429


def test_it_locks_an_address_that_tries_many_accounts(client, editor, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{n}", "wrong")
    assert sign_in(client, "editor", "right-pw-9x").status_code == 429
    # The account itself is not locked: from elsewhere its owner signs in.
    signed_in = sign_in(client, "editor", "right-pw-9x", ip="203.0.113.9")
    assert signed_in.status_code == 302


def test_a_correct_password_before_the_limit_signs_in_and_resets_the_count(
    client, editor, settings
):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", f"wrong-{n}")
    assert sign_in(client, "editor", "right-pw-9x").status_code == 302
    client.logout()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", f"wrong-again-{n}")
    assert sign_in(client, "editor", "right-pw-9x").status_code == 302


def test_the_admin_lives_under_the_configured_path(client, editor, settings):
    import digest_site.urls

    settings.ADMIN_URL_PATH = "backstage-7f3a/"
    try:
        importlib.reload(digest_site.urls)
        clear_url_caches()
        assert client.get("/backstage-7f3a/login/").status_code == 200
        assert client.get("/admin/login/").status_code == 404
    finally:
        settings.ADMIN_URL_PATH = "admin/"
        importlib.reload(digest_site.urls)
        clear_url_caches()
    assert client.get("/admin/login/").status_code == 200

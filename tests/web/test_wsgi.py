"""The WSGI entry point the web server loads (digest_site.wsgi)."""

from __future__ import annotations

import io
import os

import pytest

from digest_site import wsgi


def granian_like_environ(**request: str) -> dict:
    # What granian hands the app: a copy of the process environment, then the request's keys.
    return dict(os.environ) | {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        **request,
    }


def test_requests_reach_django_without_the_process_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://digest:hunter2@db:5432/digest")
    monkeypatch.setattr(wsgi, "PROCESS_ONLY_NAMES", (*wsgi.PROCESS_ONLY_NAMES, "DATABASE_URL"))
    seen = {}

    def django(environ, start_response):
        seen.update(environ)
        return [b""]

    monkeypatch.setattr(wsgi, "django_application", django)
    wsgi.application(granian_like_environ(HTTP_USER_AGENT="reader"), lambda *args: None)

    assert "DATABASE_URL" not in seen
    assert "PATH" not in seen
    assert "HOME" not in seen
    assert not set(wsgi.PROCESS_ONLY_NAMES) & seen.keys()
    # What the request itself carries is all kept.
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["HTTP_USER_AGENT"] == "reader"
    assert seen["PATH_INFO"] == "/healthz"


def test_the_process_names_are_read_from_the_environment_and_spare_request_variables():
    assert "PATH" in wsgi.PROCESS_ONLY_NAMES
    assert not [n for n in wsgi.PROCESS_ONLY_NAMES if n.startswith("HTTP_") or n == "REMOTE_ADDR"]


# Not in a rolled-back transaction: the entry point closes the database connection around each
# request, as it should, and a connection closed inside the test's transaction stays unusable.
@pytest.mark.django_db(transaction=True)
def test_django_answers_through_the_entry_point():
    statuses = []
    body = b"".join(
        wsgi.application(granian_like_environ(), lambda status, headers: statuses.append(status))
    )

    assert statuses == ["200 OK"], body
    assert b'"database": "ok"' in body

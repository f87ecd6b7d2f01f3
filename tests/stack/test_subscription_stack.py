"""The subscription flow on the production topology: the web server (granian) and a Celery
worker (their docker-compose commands) on PostgreSQL and Redis, emails through a loopback SMTP
server.

The web request only queues the sign-up in Redis and wakes `accounts.tasks.drain_signups`; this
proves the JSON payload crosses a real Redis and broker and the worker writes the rows and sends
the confirmation, and that the emailed links work against the web server, including the RFC 8058
one-click POST without cookies.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from email.message import Message

import pytest

from tests.services import (
    compose_command,
    ensure_redis,
    free_port,
    fresh_postgres_database,
    manage,
    production_env,
    run_sql,
    start,
    stop,
    wait_for_port,
)
from tests.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser() -> urllib.request.OpenerDirector:
    """A cookie-keeping client that shows redirects instead of following them."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirects)


def fetch(opener, url: str, data: dict | None = None) -> tuple[int, str, Message]:
    # The headers stay an email.message.Message: names are case-insensitive (granian sends
    # them in lower case).
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=20) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:  # 3xx (not followed) and 4xx land here
        return error.code, error.read().decode(), error.headers


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_it_subscribes_confirms_and_unsubscribes_through_the_web_server_and_a_worker(tmp_path):
    ensure_redis()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with fresh_postgres_database() as database_url, LoopbackSMTPServer() as smtp:
        env = production_env(
            tmp_path,
            DJANGO_SECRET_KEY="integration-test-secret-key-" + "y" * 40,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            REDIS_URL="redis://127.0.0.1:6379/0",
            EMAIL_PROVIDER="smtp",
            EMAIL_URL=smtp.url,
            SITE_URL=base,
        )
        manage(env, "migrate", "--noinput")
        web = start(
            compose_command("web", **{"0.0.0.0": "127.0.0.1", "8000": str(port)}),
            env,
            tmp_path / "web.log",
        )
        worker = start(compose_command("worker"), env, tmp_path / "worker.log")
        try:
            wait_for_port("127.0.0.1", port, seconds=30, what="web server")
            person = browser()
            _, landing, _ = fetch(person, base + "/")
            form = {
                "csrfmiddlewaretoken": csrf_token(landing),
                "email": "Stack.Reader@example.org",
                "interests_text": "speech and audio generation",
                "categories": ["cs.SD", "eess.AS"],
                "seed_references": "hep-th/9901001",
                "frequency": "weekly",
                "send_weekday": "2",
                "timezone": "America/New_York",
                "send_hour": "6",
                "website": "",
            }
            # The pasted paper is not held: the form shows it back once, then sends.
            status, review, _ = fetch(person, base + "/", form)
            assert status == 200
            assert "arXiv id hep-th/9901001 is not in our library yet" in review
            reviewed = re.search(
                r'name="seed_reviewed" id="id_seed_reviewed" value="(\w+)"', review
            )
            form |= {"seed_reviewed": reviewed[1], "csrfmiddlewaretoken": csrf_token(review)}
            status, _, headers = fetch(person, base + "/", form)
            assert (status, headers["Location"]) == (302, "/subscribe/check-your-inbox")

            message = smtp.wait_for("stack.reader@example.org", seconds=60)
            text = message.get_body(preferencelist=("plain",)).get_content()
            confirm_url = re.search(rf"{re.escape(base)}/confirm/\S+/", text).group(0)
            assert run_sql(database_url, "SELECT status FROM accounts_subscriber") == [("pending",)]

            _, confirm_page, _ = fetch(person, confirm_url)
            status, _, headers = fetch(
                person, confirm_url, {"csrfmiddlewaretoken": csrf_token(confirm_page)}
            )
            assert status == 302
            assert headers["Location"].startswith("/preferences/")
            status, preferences, _ = fetch(person, base + headers["Location"])
            assert status == 200
            assert "You are subscribed" in preferences
            assert "hep-th/9901001" in preferences

            token = re.search(r'href="/unsubscribe/([^/"]+)/"', preferences).group(1)
            mail_client = urllib.request.build_opener(_NoRedirects)  # no cookies at all
            status, body, headers = fetch(
                mail_client,
                f"{base}/unsubscribe/{token}/one-click",
                {"List-Unsubscribe": "One-Click"},
            )
            assert (status, body.strip()) == (200, "You are unsubscribed.")
            assert "Location" not in headers
        finally:
            stop(worker)
            stop(web)

        (row,) = run_sql(
            database_url,
            "SELECT s.status, s.consent_ip::text, s.consent_source, p.timezone, p.send_hour"
            " FROM accounts_subscriber s JOIN accounts_interestprofile p"
            " ON p.subscriber_id = s.id",
        )
        assert row == ("unsubscribed", "127.0.0.1/32", "web-form v1", "America/New_York", 6)
        worker_log = (tmp_path / "worker.log").read_text()
        assert "accounts.tasks.drain_signups" in worker_log
        assert "'created': 1" in worker_log

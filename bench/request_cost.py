"""What one request costs in-process: Django's WSGI entry point with the production settings, no
web server, no load, one request at a time. The CPU figures bench/web_load.py cannot isolate.

    .venv/bin/python bench/request_cost.py [--requests 3000] [--rounds 3]

Times (CPU, then wall clock, per request; best of --rounds) GET / (the landing page), the floor
under the subscribe POST (bench/web_floor.py: the CSRF check and a redirect; the baseline the
ratios are against), the floor plus the subscribe form's validation, and the real subscribe POST;
then the pieces the POST adds: the form's validation alone, its Redis round trip (both rate
limits and the sign-up queue, accounts.signups.submit), a PING through the same redis-py client,
and a PING over a bare socket (what the round trip's two system calls cost on this machine).

Uses the machine's Redis on 127.0.0.1:6379 under a key prefix of its own, deleted at the end; the
rate limits are lifted, as in web_load.py. No request here touches the database.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN = f"cost-{uuid.uuid4().hex[:8]}"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "digest_site.settings",
        "DIGEST_VAR_DIR": tempfile.mkdtemp(prefix="request-cost-"),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": RUN,
        "CELERY_QUEUE": RUN,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "SUBSCRIBE_LIMIT_PER_IP": "1000000000",
        "SUBSCRIBE_LIMIT_PER_EMAIL": "1000000000",
    }
)

from django.conf import settings
from django.urls import path

from bench import web_floor
from digest_site import urls as project_urls
from tests.services import delete_redis_keys, ensure_redis

# The project's pages and the floor's views side by side, so both run in this one process.
urlpatterns = [
    path("floor/", web_floor.floor),
    path("floor/validated", web_floor.validated),
    *project_urls.urlpatterns,
]
settings.ROOT_URLCONF = __name__

FORM = (
    "&interests_text=efficient+inference+for+large+language+models%2C+quantization"
    "&keywords=LoRA%2C+speculative+decoding&categories=cs.LG&categories=cs.CL"
    "&seed_references=2503.11731&frequency=daily&send_weekday=0"
    "&timezone=Europe%2FBerlin&send_hour=7&website="
)


class Client:
    """Calls the WSGI application directly, with a CSRF cookie and token as a browser has them."""

    def __init__(self):
        from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

        self.secret = _get_new_csrf_string()
        self.token = _mask_cipher_secret(self.secret)
        self.sent = 0

    def call(self, method: str, url: str) -> str:
        self.sent += 1
        body = b""
        if method == "POST":  # a new address each time, like a real sign-up
            body = (
                f"csrfmiddlewaretoken={self.token}&email=cost-{self.sent}%40example.org{FORM}"
            ).encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": url,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": f"csrftoken={self.secret}",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        status = []
        response = web_floor.application(environ, lambda line, headers: status.append(line))
        b"".join(response)
        response.close()
        return status[0]


def per_call(function, count: int, rounds: int) -> tuple[float, float]:
    """Best-of-rounds (CPU ms, wall ms) per call of `function`, after a warm-up."""
    for _ in range(min(count, 200)):
        function()
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            function()
        best_cpu = min(best_cpu, (time.process_time() - cpu) / count * 1000)
        best_wall = min(best_wall, (time.perf_counter() - wall) / count * 1000)
    return best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ensure_redis()

    from django.http import QueryDict
    from django.test import RequestFactory

    from accounts import ratelimit, services, signups, views
    from accounts.forms import SubscribeForm

    client = Client()
    pages = {
        "GET / (landing page)": ("GET", "/", "200 OK"),
        "POST floor: CSRF + redirect (baseline)": ("POST", "/floor/", "302 Found"),
        "POST floor + form validation": ("POST", "/floor/validated", "302 Found"),
        "POST / subscribe (all of it)": ("POST", "/", "302 Found"),
    }
    for name, (method, url, expected) in pages.items():
        status = client.call(method, url)
        assert status == expected, f"{name}: {status}"

    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    data = QueryDict(f"email=cost%40example.org{FORM}")
    form = SubscribeForm.for_validation(data)
    assert form.is_valid(), form.errors
    limits = [views._limit_per_ip(request), views._limit_per_email("cost@example.org")]
    sign_up = {
        "email": "cost@example.org",
        "profile": services.ProfileData.from_cleaned(form.cleaned_data).to_json(),
        "consent": views._consent(request).to_json(),
    }
    client_redis = ratelimit._client(ratelimit.redis_url())
    bare = socket.create_connection(("127.0.0.1", 6379))
    bare.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def bare_ping() -> None:
        bare.sendall(b"*1\r\n$4\r\nPING\r\n")
        bare.recv(64)

    pieces = {
        "form validation (SubscribeForm.for_validation)": (
            lambda: SubscribeForm.for_validation(data).is_valid()
        ),
        "form validation, a form with copied fields": lambda: SubscribeForm(data).is_valid(),
        "Redis round trip: rate limits + sign-up queue": lambda: signups.submit(sign_up, limits),
        "Redis PING through redis-py (same client)": client_redis.ping,
        "Redis PING over a bare socket": bare_ping,
    }
    timings = {
        name: per_call(lambda m=method, u=url: client.call(m, u), args.requests, args.rounds)
        for name, (method, url, _expected) in pages.items()
    }
    timings.update(
        {name: per_call(function, args.requests, args.rounds) for name, function in pieces.items()}
    )

    baseline = timings["POST floor: CSRF + redirect (baseline)"][0]
    print(
        f"in-process cost per request, best of {args.rounds} rounds of {args.requests}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':50} {'CPU ms':>7} {'wall ms':>8} {'CPU ÷ floor':>11}")
    for name, (cpu, wall) in timings.items():
        print(f"{name:50} {cpu:7.3f} {wall:8.3f} {cpu / baseline:11.2f}")
    delete_redis_keys(f"*{RUN}*")


if __name__ == "__main__":
    main()

"""Fixtures of the browser tests: a fresh Chromium per test and a live site with three papers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from recommender.models import Paper
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import clear_local_cache


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-packages.sh")
    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # refuse ORM calls; the tests' own queries (and pytest-django's flushes) are plain
    # synchronous code, so allow them while this module's browser runs, and only then.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, settings, tmp_path):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "digest_site.mailing.backends.OutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    clear_local_cache()
    for number, title in enumerate(
        [
            "Speculative decoding for large language models at scale",
            "Quantization-aware training of small language models",
            "Graph neural networks for molecule property prediction",
        ],
        start=1,
    ):
        Paper.objects.create(
            arxiv_id=f"2606.{number:05d}",
            title=title,
            abstract=f"We study {title.lower()}.",
            categories=["cs.LG", "cs.CL"],
            first_seen=date(2026, 6, 30),
        )
    return live_server

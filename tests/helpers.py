"""Plain helpers and fixture-file paths shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.core import mail
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from accounts.models import Subscriber
from recommender.models import Paper

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
DUMP_SLICE = FIXTURES / "arxiv-stream-slice.jsonl.gz"
HF_LISTING = FIXTURES / "hf-daily-papers-2025-03-19.json"
ATOM_FEED = FIXTURES / "arxiv-feed.xml"
PAGE_EXAMPLE = FIXTURES / "daily-papers-page-example.txt"
SAMPLE_PAPERS = TESTS.parent / "recommender/fixtures/sample-papers.jsonl.gz"

URL = re.compile(r"https?://[^\s<>\"]+")


def unsaved_paper(number: int, title: str, abstract: str) -> Paper:
    """A paper as ranking sees it, not stored (candidates.prepare_candidates takes these)."""
    return Paper(
        arxiv_id=f"2601.{number:05d}", title=title, abstract=abstract, first_seen=date(2026, 1, 5)
    )


class LoopbackAPIs(ThreadingHTTPServer):
    """A stand-in for the Hugging Face and arXiv APIs on loopback; `handler` answers. It notes
    each request's path, and handlers may read `fail` to answer with an error."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[str] = []
        self.fail = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving_apis(
    handler: type[BaseHTTPRequestHandler], settings, var_dir: Path
) -> Iterator[LoopbackAPIs]:
    """Serve `handler` from a thread and point the fetcher's API settings (and VAR_DIR) at it."""
    server = LoopbackAPIs(handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.INGEST_HF_API_URL = f"{server.base}/api/daily_papers"
    settings.INGEST_ARXIV_API_URL = f"{server.base}/api/query"
    settings.VAR_DIR = var_dir
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def clear_local_cache() -> None:
    # Only ever the in-process cache: clear() on a Redis cache flushes a database others share.
    if isinstance(caches["default"], LocMemCache):
        cache.clear()


def form_data(**overrides) -> dict:
    data = {
        "email": "ada@example.org",
        "interests_text": "efficient inference for large language models, quantization",
        "keywords": "LoRA, speculative decoding",
        "categories": ["cs.LG", "cs.CL"],
        "seed_references": "",
        "frequency": "daily",
        "send_weekday": "0",
        "timezone": "Europe/Berlin",
        "send_hour": "7",
        "website": "",
    }
    data.update(overrides)
    return data


def links_in(message, path_part: str) -> list[str]:
    """Absolute links in the text body of `message` whose path contains `path_part`."""
    return [url for url in URL.findall(message.body) if path_part in url]


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def only_message_to(address: str):
    sent = [message for message in mail.outbox if address in message.to]
    assert len(sent) == 1, [m.subject for m in sent]
    return sent[0]


def subscribe(client, **overrides):
    return client.post("/", form_data(**overrides), REMOTE_ADDR="203.0.113.7")


def confirm_via_email(client, address: str = "ada@example.org"):
    url = links_in(only_message_to(address), "/confirm/")[0]
    return client.post(path_of(url))


def sent_digest(subscriber: Subscriber, make_paper, *, titles=("Speculative decoding, fast",)):
    """A digest with one item per title, built and sent through the real delivery code."""
    from recommender.delivery.sending import send_digest
    from recommender.models import Digest, DigestItem

    digest = Digest.objects.create(
        subscriber=subscriber, period_start=date(2026, 7, 1), ranker="test-ranker"
    )
    for rank, title in enumerate(titles, start=1):
        DigestItem.objects.create(
            digest=digest, paper=make_paper(title=title), rank=rank, score=1.0, reason="test"
        )
    send_digest(digest)
    digest.refresh_from_db()
    return digest

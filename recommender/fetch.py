"""Fetchers for the live sources: download a listing to a file that `sources.parse_path` reads.

Each download is saved under ``<DIGEST_VAR_DIR>/ingest/`` before it is parsed, so what was
ingested on a given day can be inspected (and re-ingested) later. Network problems, HTTP errors
and timeouts all raise `FetchError` with the URL and the reason.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils import timezone

SOURCES = ("hf", "arxiv")
FORMAT_OF_SOURCE = {"hf": "hf-json", "arxiv": "arxiv-atom"}
USER_AGENT = "paper-digest-ingest/1.0"
DEFAULT_TIMEOUT = 60
# The arXiv API serves up to 2,000 results per request; one day of a few categories is less.
ARXIV_MAX_RESULTS = 1000
MAX_RESPONSE_BYTES = 100 * 1024 * 1024


class FetchError(Exception):
    """A live source could not be downloaded."""


def fetch_listing(
    source: str,
    *,
    day: date | None = None,
    categories: Sequence[str] = (),
    directory: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download one listing of `source` ("hf" or "arxiv") and return the saved file."""
    directory = directory or Path(settings.VAR_DIR) / "ingest"
    if source == "hf":
        return fetch_hf_daily_papers(day or timezone.now().date(), directory, timeout=timeout)
    if source == "arxiv":
        chosen = list(categories) or list(settings.INGEST_ARXIV_CATEGORIES)
        return fetch_arxiv(chosen, directory, day=day, timeout=timeout)
    raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")


def hf_daily_papers_url(day: date) -> str:
    return f"{settings.INGEST_HF_API_URL}?{urllib.parse.urlencode({'date': day.isoformat()})}"


def arxiv_query_url(categories: Sequence[str], *, day: date | None = None) -> str:
    if not categories:
        raise ValueError("the arXiv fetch needs at least one category")
    query = " OR ".join(f"cat:{category}" for category in categories)
    if len(categories) > 1:
        query = f"({query})"
    if day is not None:
        stamp = day.strftime("%Y%m%d")
        query += f" AND submittedDate:[{stamp}0000 TO {stamp}2359]"
    parameters = {
        "search_query": query,
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": 0,
        "max_results": ARXIV_MAX_RESULTS,
    }
    return f"{settings.INGEST_ARXIV_API_URL}?{urllib.parse.urlencode(parameters)}"


def fetch_hf_daily_papers(day: date, directory: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """The Hugging Face Daily Papers of `day`, saved as hf-daily-papers-YYYY-MM-DD.json."""
    return download(
        hf_daily_papers_url(day), directory / f"hf-daily-papers-{day.isoformat()}.json", timeout
    )


def fetch_arxiv(
    categories: Sequence[str],
    directory: Path,
    *,
    day: date | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """The newest arXiv submissions in `categories` (of `day` if given) as an Atom feed."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    name = f"arxiv-{day.isoformat() if day else 'latest'}-{stamp}.xml"
    return download(arxiv_query_url(categories, day=day), directory / name, timeout)


def download(url: str, destination: Path, timeout: float) -> Path:
    """GET `url` into `destination` (written whole or not at all)."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http(s) URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FetchError(f"{url}: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise FetchError(f"{url}: cannot connect ({error.reason})") from error
    except (TimeoutError, OSError) as error:
        raise FetchError(f"{url}: {error or 'timed out'} after {timeout:g}s") from error
    if len(body) > MAX_RESPONSE_BYTES:
        raise FetchError(f"{url}: response larger than {MAX_RESPONSE_BYTES} bytes")
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    with os.fdopen(handle, "wb") as output:
        output.write(body)
    os.replace(temporary, destination)
    return destination

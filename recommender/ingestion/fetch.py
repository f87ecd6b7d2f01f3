"""Fetchers for the live sources: download a listing to a file that `sources.parse_path` reads.

Each download is saved under ``<DIGEST_VAR_DIR>/ingest/`` before it is parsed, so what was
ingested on a given day can be inspected (and re-ingested) later. Network problems, HTTP errors
and timeouts all raise `FetchError` with the URL and the reason. A listing read in several
requests (the Hugging Face API's pages) is saved only once every page has arrived: a failed page
fails the whole fetch and writes nothing, so a partial listing is never ingested as complete.
"""

from __future__ import annotations

import json
import logging
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

from .sources.api_errors import api_error

SOURCES = ("hf", "arxiv")
FORMAT_OF_SOURCE = {"hf": "hf-json", "arxiv": "arxiv-atom"}
USER_AGENT = "paper-digest-ingest/1.0"
DEFAULT_TIMEOUT = 60
# The arXiv API serves up to 2,000 results per request; one day of a few categories is less.
ARXIV_MAX_RESULTS = 1000
MAX_RESPONSE_BYTES = 100 * 1024 * 1024
# The Daily Papers API pages its results (`limit`, `p` from 0) and serves at most 100 per page.
HF_PAGE_SIZE = 100
# A busy day has a few hundred papers; the cap only stops a server that ignores `p` from
# keeping the fetch going forever.
HF_MAX_PAGES = 20

log = logging.getLogger(__name__)


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


def hf_daily_papers_url(day: date, page: int = 0) -> str:
    parameters = {"date": day.isoformat(), "limit": HF_PAGE_SIZE, "p": page}
    return f"{settings.INGEST_HF_API_URL}?{urllib.parse.urlencode(parameters)}"


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
    """The Hugging Face Daily Papers of `day`, every page, saved as hf-daily-papers-YYYY-MM-DD.json.

    The file is one JSON list in the API's item format, one item per line (so a rejection's
    "line N" is item N-1). It is written only when every page has arrived; a failed page raises
    `FetchError` and leaves the previous file, if any, as it was.
    """
    items = hf_daily_papers_items(day, timeout=timeout)
    body = b"[\n" + b",\n".join(_item_bytes(item) for item in items) + b"\n]\n"
    return write_atomically(directory / f"hf-daily-papers-{day.isoformat()}.json", body)


def hf_daily_papers_items(day: date, *, timeout: float = DEFAULT_TIMEOUT) -> list[object]:
    """Every item of `day`'s listing, page after page until a short one, without repeats.

    An item the listing moved onto the next page between two requests comes back twice; the
    first one is kept.
    """
    items: dict[object, object] = {}
    for page in range(HF_MAX_PAGES):
        url = hf_daily_papers_url(day, page)
        page_items = _json_list(url, get(url, timeout))
        for item in page_items:
            items.setdefault(_hf_item_key(item), item)
        if len(page_items) < HF_PAGE_SIZE:
            return list(items.values())
    log.warning(
        "Hugging Face Daily Papers of %s: stopped after %d full pages (%d papers); the listing "
        "may be longer or the server may ignore the page parameter",
        day.isoformat(),
        HF_MAX_PAGES,
        len(items),
    )
    return list(items.values())


def _json_list(url: str, body: bytes) -> list[object]:
    # Bytes that are not UTF-8 survive as surrogates and are written back as they came
    # (`_item_bytes`), so the parser rejects that one item as it would in a saved response.
    text = body.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    try:
        items = json.loads(text)
    except RecursionError:
        raise FetchError(f"{url}: not a Daily Papers page (JSON nested too deeply)") from None
    except ValueError as error:
        raise FetchError(f"{url}: not a Daily Papers page ({error})") from error
    if not isinstance(items, list):
        raise FetchError(f"{url}: not a Daily Papers page (expected a JSON list)")
    return items


def _item_bytes(item: object) -> bytes:
    try:
        return json.dumps(item, ensure_ascii=False).encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate the response spelled as a \u escape
        return json.dumps(item).encode()


def _hf_item_key(item: object) -> object:
    """The paper id; an item without one (the parser rejects it) is keyed on its whole text."""
    paper = item.get("paper") if isinstance(item, dict) else None
    paper_id = paper.get("id") if isinstance(paper, dict) else None
    if isinstance(paper_id, str) and paper_id.strip():
        return ("id", paper_id.strip())
    return ("item", json.dumps(item, sort_keys=True))


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
    return write_atomically(destination, get(url, timeout))


def get(url: str, timeout: float) -> bytes:
    """The body of `url`; any failure is a `FetchError` naming the URL."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http(s) URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        found = api_error(_error_body(error))
        detail = f": {found}" if found else ""
        raise FetchError(f"{url}: HTTP {error.code} {error.reason}{detail}") from error
    except urllib.error.URLError as error:
        raise FetchError(f"{url}: cannot connect ({error.reason})") from error
    except (TimeoutError, OSError) as error:
        raise FetchError(f"{url}: {error or 'timed out'} after {timeout:g}s") from error
    if len(body) > MAX_RESPONSE_BYTES:
        raise FetchError(f"{url}: response larger than {MAX_RESPONSE_BYTES} bytes")
    # The arXiv API answers a bad query with 200 and an error feed: a failed fetch, not papers.
    found = api_error(body[:65536])
    if found is not None:
        raise FetchError(f"{url}: {found}")
    return body


def _error_body(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(65536)
    except (OSError, AttributeError):
        return b""


def write_atomically(destination: Path, body: bytes) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    with os.fdopen(handle, "wb") as output:
        output.write(body)
    os.replace(temporary, destination)
    return destination

"""Error answers of the live APIs, told apart from listings so they are reported as what they are.

The Hugging Face API answers an unknown page or day with a JSON object such as
``{"error": "Sorry, we can't find the page you are looking for."}``; the arXiv API answers a bad
query (``id_list=abc``) with HTTP 200 and an Atom feed holding one entry whose id is
``https://arxiv.org/api/errors#...`` and whose summary is the message. Read as papers, the first
became "line 1: missing title" and the second "not an arXiv id: '...api/errors#...'". Both
`fetch` (a failed fetch, exit 3) and `parse_path` (a saved file) use `api_error`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from defusedxml.ElementTree import fromstring

ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV_ERROR_ID = re.compile(r"^https?://(export\.)?arxiv\.org/api/errors", re.IGNORECASE)
HINTS = {
    "Hugging Face": "check the date asked for (not every day has a Daily Papers listing) and "
    "INGEST_HF_API_URL",
    "arXiv": "check the query: the categories, dates and ids asked for (ids look like 2503.11731)",
}


@dataclass(frozen=True)
class ApiError:
    api: str  # "Hugging Face" or "arXiv"
    message: str  # the API's own words

    def __str__(self) -> str:
        return (
            f"the {self.api} API answered with an error instead of papers: "
            f"{self.message!r} (hint: {HINTS[self.api]})"
        )


def api_error(body: bytes) -> ApiError | None:
    """The API error a response body holds, or None for anything else (a listing, garbage)."""
    text = body.decode("utf-8", errors="replace").removeprefix("\ufeff").strip()
    if text.startswith("{"):
        return _hf_error(text)
    if text.startswith("<") and "/api/errors" in text:
        return _arxiv_error(text)
    return None


def _hf_error(text: str) -> ApiError | None:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    # A paper line of the JSON-lines dump is an object too, but never one with an "error" key
    # and no title.
    if isinstance(obj, dict) and isinstance(obj.get("error"), str) and "title" not in obj:
        return ApiError("Hugging Face", " ".join(obj["error"].split())[:500])
    return None


def _arxiv_error(text: str) -> ApiError | None:
    try:
        feed = fromstring(text)
    except Exception:
        return None
    for entry in feed.iter(ATOM + "entry"):
        if _ARXIV_ERROR_ID.match((entry.findtext(ATOM + "id") or "").strip()):
            message = entry.findtext(ATOM + "summary") or entry.findtext(ATOM + "title") or ""
            return ApiError("arXiv", " ".join(message.split())[:500] or "unknown error")
    return None

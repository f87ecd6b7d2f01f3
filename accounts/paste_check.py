"""Showing pasted papers back before they are saved: the subscribe form's review step and the
live check behind the paste box. The lines are read and matched in `references.py`."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from . import ratelimit
from .references import PastedLine, check_pasted, paste_fingerprint

log = logging.getLogger(__name__)


def lines_to_review(data: dict, text: str) -> list[PastedLine] | None:
    """The checked lines of a valid subscribe form's paste when some name no paper we hold and
    the person has not seen them checked yet; None when the sign-up can go ahead."""
    if not data["seed_references"] or data.get("seed_reviewed") == paste_fingerprint(text):
        return None
    try:
        lines = check_pasted(text)
    except DatabaseError:
        # The check is advice: the sign-up itself never waits for the database.
        log.exception("could not check pasted papers; the sign-up goes ahead unchecked")
        return None
    return lines if not all(line.resolved for line in lines) else None


def lines_to_show(text: str) -> list[PastedLine]:
    """The checked lines for a form shown again; nothing when the paste is over the limits
    (the form's error says so) or the database cannot answer."""
    try:
        return check_pasted(text)
    except (ValueError, DatabaseError):
        return []


def summary(lines: list[PastedLine]) -> str:
    """One sentence for the paste box's status line, e.g. "3 lines: 2 found, 1 not found"."""
    found = sum(line.resolved for line in lines)
    invalid = sum(bool(line.error) for line in lines)
    parts = [f"{found} found"]
    if len(lines) - found - invalid:
        parts.append(f"{len(lines) - found - invalid} not in our library yet")
    if invalid:
        parts.append(f"{invalid} not valid")
    noun = "line" if len(lines) == 1 else "lines"
    return f"{len(lines)} {noun}: {', '.join(parts)}." if lines else ""


@require_POST
def check_papers(request: HttpRequest) -> JsonResponse:
    """The live check: each pasted line with the paper it names or why none, as JSON."""
    if not ratelimit.allow_live_check(request, "paste-check-ip"):
        return JsonResponse({"error": "Too many checks; slow down a little."}, status=429)
    text = request.POST.get("seed_references", "")
    try:
        lines = check_pasted(text)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(
        {
            "summary": summary(lines),
            "lines": [_as_json(line) for line in lines],
            "fingerprint": paste_fingerprint(text),
        }
    )


def _as_json(line: PastedLine) -> dict:
    paper = line.paper
    return {
        "line": line.number,
        "text": line.text,
        "title": paper.readable_title if paper else "",
        "url": paper.url if paper else "",
        "problem": line.error or line.note,
        "ok": paper is not None,
        "invalid": bool(line.error),
    }

"""Papers a subscriber pasted: arXiv ids, arXiv links or titles, and the Paper rows they match."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recommender.models import Paper, normalise_title

# New-style ids (since 2007): YYMM.NNNN (to 2014) or YYMM.NNNNN, optional version.
_NEW_ID = r"(?P<new>\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?"
# Old-style ids: archive(.subject class)/YYMMNNN, e.g. hep-th/9901001 or math.GT/0309136.
_OLD_ID = r"(?P<old>[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3})(?:v\d+)?"
_ID = rf"(?:{_NEW_ID}|{_OLD_ID})"
_BARE = re.compile(rf"^(?:arxiv:\s*)?{_ID}$", re.IGNORECASE)
_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{_ID}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
# Lines that are clearly meant as an id or link (no spaces, digits with a dot or slash, an
# "arXiv:" prefix or a URL) must parse; anything else is taken as a title.
_LOOKS_LIKE_ID = re.compile(r"^(?:arxiv:|https?://|\S*\d+[./]\d+\S*$)", re.IGNORECASE)

MAX_REFERENCES = 50
MAX_REFERENCE_LENGTH = 300


@dataclass(frozen=True)
class Reference:
    raw: str
    arxiv_id: str = ""
    title: str = ""


def _new_id_length_fits(arxiv_id: str) -> bool:
    # Ids got a fifth digit in January 2015: 1412.6980 and 1501.00001, never the other way.
    yymm, number = arxiv_id.split(".")
    return len(number) == (5 if yymm >= "1501" else 4)


def parse_reference(line: str) -> Reference:
    """One pasted line as an arXiv id or a title; ValueError for a malformed id or link."""
    text = " ".join(line.split())
    for pattern in (_BARE, _URL):
        match = pattern.match(text)
        if match:
            arxiv_id = match.group("new") or match.group("old")
            if match.group("new") and not _new_id_length_fits(arxiv_id):
                break
            if match.group("old"):
                # The canonical old id drops the subject class: math.GT/0309136 is math/0309136.
                archive, number = arxiv_id.split("/")
                arxiv_id = f"{archive.split('.')[0].lower()}/{number}"
            return Reference(raw=text, arxiv_id=arxiv_id)
    if _LOOKS_LIKE_ID.match(text):
        raise ValueError(f"“{text[:80]}” is not an arXiv id or arXiv link.")
    if not re.search(r"[^\W\d_]", text):
        raise ValueError(f"“{text[:80]}” is neither an arXiv id nor a paper title.")
    return Reference(raw=text, title=text)


def resolve_references(references: list[Reference]) -> list[Paper]:
    """The stored papers the references name; references we do not hold yet are skipped."""
    ids = {ref.arxiv_id for ref in references if ref.arxiv_id}
    keys = {normalise_title(ref.title) for ref in references if ref.title}
    keys.discard("")
    if not ids and not keys:
        return []
    by_id = list(Paper.objects.filter(arxiv_id__in=ids)) if ids else []
    by_title = list(Paper.objects.filter(title_key__in=keys)) if keys else []
    unique = {paper.pk: paper for paper in [*by_id, *by_title]}
    return list(unique.values())


def unmatched_references(references: list[str], papers: list[Paper]) -> list[str]:
    """The pasted lines that matched none of `papers` (shown with a note, not an error)."""
    ids = {paper.arxiv_id for paper in papers if paper.arxiv_id}
    keys = {paper.title_key for paper in papers}
    missing = []
    for raw in references:
        try:
            ref = parse_reference(raw)
        except ValueError:
            missing.append(raw)
            continue
        if ref.arxiv_id not in ids and normalise_title(ref.title or "") not in keys:
            missing.append(raw)
    return missing

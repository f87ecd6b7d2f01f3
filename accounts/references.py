"""Papers a subscriber pasted: arXiv ids, arXiv links or titles, and the Paper rows they match."""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest_site import arxiv_ids
from recommender.models import Paper, normalise_title

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


def parse_reference(line: str) -> Reference:
    """One pasted line as an arXiv id or a title; ValueError for a malformed id or link."""
    text = " ".join(line.split())
    parsed = arxiv_ids.parse(text)
    if parsed is not None:
        return Reference(raw=text, arxiv_id=parsed.id)
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


def resolve_pasted(lines: list[str]) -> list[Paper]:
    """The stored papers named by pasted lines; lines that are not references are ignored."""
    references = []
    for line in lines:
        try:
            references.append(parse_reference(line))
        except ValueError:
            continue
    return resolve_references(references)


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

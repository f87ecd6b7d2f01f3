"""Papers a subscriber pasted: arXiv ids, arXiv links or titles, and the Paper rows they match.

The one place that reads pasted lines: the forms validate with `read_pasted`, the subscribe
form's review, its live check and the preferences page show `check_pasted`, saving a profile
links `resolve_references`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from digest_site import arxiv_ids
from recommender.models import Paper, normalise_title

# Lines that are clearly meant as an id or link (no spaces, digits with a dot or slash, an
# "arXiv:" prefix or a URL) must parse; anything else is taken as a title.
_LOOKS_LIKE_ID = re.compile(r"^(?:arxiv:|https?://|\S*\d+[./]\d+\S*$)", re.IGNORECASE)

MAX_REFERENCES = 50
MAX_REFERENCE_LENGTH = 300
# The whole paste: room for MAX_REFERENCES full lines with generous blank lines and spaces. A
# larger paste is refused before it is split, so its size costs nothing more than reading it.
MAX_PASTE_LENGTH = 2 * MAX_REFERENCES * (MAX_REFERENCE_LENGTH + 2)
HOW_TO_WRITE = (
    "Use an id like 2503.11731 or hep-th/9901001, an arxiv.org/abs/… link, or the paper's title."
)


@dataclass(frozen=True)
class Reference:
    raw: str
    arxiv_id: str = ""
    title: str = ""


@dataclass(frozen=True)
class PastedLine:
    """One non-blank pasted line: its number as pasted, and the reference it names or why it
    names none (`error`); after `check_pasted`, the paper we hold for it or why not (`note`)."""

    number: int
    text: str
    reference: Reference | None = None
    error: str = ""
    paper: Paper | None = None
    note: str = ""

    @property
    def resolved(self) -> bool:
        return self.paper is not None


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


def read_pasted(text: str) -> list[PastedLine]:
    """The non-blank lines of a paste, numbered as pasted, each parsed (no database).

    ValueError, naming the limit, when the paste as a whole is too big; a line that is too long
    or not a reference gets its `error` instead, so every bad line can be shown at once.
    """
    if len(text) > MAX_PASTE_LENGTH:
        raise ValueError(
            f"That is {len(text):,} characters; up to {MAX_REFERENCES} papers of at most "
            f"{MAX_REFERENCE_LENGTH} characters each, one per line, please."
        )
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    numbered = [(n, line) for n, line in numbered if line]
    if len(numbered) > MAX_REFERENCES:
        raise ValueError(
            f"Up to {MAX_REFERENCES} papers, one per line, please (this has {len(numbered)})."
        )
    return [_read_line(number, line) for number, line in numbered]


def _read_line(number: int, text: str) -> PastedLine:
    if len(text) > MAX_REFERENCE_LENGTH:
        error = (
            f"It is {len(text):,} characters long; a title or an arXiv id fits in "
            f"{MAX_REFERENCE_LENGTH}."
        )
        return PastedLine(number, text[:MAX_REFERENCE_LENGTH], error=error)
    try:
        return PastedLine(number, text, reference=parse_reference(text))
    except ValueError as error:
        return PastedLine(number, text, error=str(error))


def check_pasted(text: str) -> list[PastedLine]:
    """`read_pasted`, and for each line the paper we hold or why there is none (two queries)."""
    lines = read_pasted(text)
    papers = resolve_references([line.reference for line in lines if line.reference])
    index = _index(papers)
    return [_checked(line, index) for line in lines]


def _checked(line: PastedLine, index: dict[str, Paper]) -> PastedLine:
    ref = line.reference
    if ref is None:
        return line
    paper = _paper_for(ref, index)
    if paper is not None:
        return PastedLine(line.number, line.text, ref, paper=paper)
    if ref.arxiv_id:
        note = (
            f"arXiv id {ref.arxiv_id} is not in our library yet: it will be added if it "
            "appears in a listing, and then shapes your digest."
        )
    else:
        note = "No paper with this title in our library yet; we keep it and use it if one turns up."
    return PastedLine(line.number, line.text, ref, note=note)


def paste_fingerprint(text: str) -> str:
    """Names a paste by its lines (not its spacing), so a form can tell whether the paste the
    person reviewed is the one they send."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    joined = "\n".join(line for line in lines if line)
    return hashlib.sha256(joined.encode()).hexdigest()[:20]


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


def _index(papers: list[Paper]) -> dict[str, Paper]:
    # Ids and title keys cannot collide: a title key is lower-case words, never "id:...".
    index = {f"id:{paper.arxiv_id}": paper for paper in papers if paper.arxiv_id}
    for paper in papers:
        index.setdefault(paper.title_key, paper)
    return index


def _paper_for(ref: Reference, index: dict[str, Paper]) -> Paper | None:
    if ref.arxiv_id:
        return index.get(f"id:{ref.arxiv_id}")
    return index.get(normalise_title(ref.title)) or None


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
    """The pasted lines that matched none of `papers` (linked later, when they turn up)."""
    index = _index(papers)
    missing = []
    for raw in references:
        try:
            ref = parse_reference(raw)
        except ValueError:
            missing.append(raw)
            continue
        if _paper_for(ref, index) is None:
            missing.append(raw)
    return missing

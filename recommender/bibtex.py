"""Papers as BibTeX entries, for reference managers and LaTeX bibliographies.

arXiv registers a DataCite DOI for every paper, 10.48550/arXiv.<id>, so any paper with an arXiv
id gets its DOI; papers without one (some saved listings) get title, authors, year and link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .models import Paper
from .text import readable

ARXIV_DOI_PREFIX = "10.48550/arXiv."
# Characters BibTeX/LaTeX treat as markup when they appear bare.
_BARE_SPECIAL = re.compile(r"(?<!\\)([&%#_])")


def bibtex(papers: Iterable[Paper]) -> str:
    """One @misc entry per paper, keys unique within the file (smith2026event, smith2026eventb)."""
    used: set[str] = set()
    entries = []
    for paper in papers:
        key = _unique(_key(paper), used)
        entries.append(_entry(paper, key))
    return "\n".join(entries)


def doi(paper: Paper) -> str:
    return f"{ARXIV_DOI_PREFIX}{paper.arxiv_id}" if paper.arxiv_id else ""


def _entry(paper: Paper, key: str) -> str:
    fields = [
        ("title", _title(paper)),
        ("author", " and ".join(_author(name) for name in paper.authors if str(name).strip())),
        ("year", str(_year(paper))),
    ]
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category or paper.categories:
            fields.append(("primaryClass", paper.primary_category or paper.categories[0]))
        fields.append(("doi", doi(paper)))
    fields.append(("url", paper.url))
    body = ",\n".join(f"  {name:<13} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key},\n{body},\n}}\n"


def _title(paper: Paper) -> str:
    """The title as LaTeX: arXiv titles are LaTeX already, so they are kept (math and all)
    unless their braces do not balance, when the readable form is used instead."""
    title = " ".join(paper.title.split())
    if not _balanced(title):
        title = readable(title).replace("{", "").replace("}", "")
    return _BARE_SPECIAL.sub(r"\\\1", title)


def _author(name: str) -> str:
    """ "Jiaxin Liu" -> "Liu, Jiaxin": BibTeX then sorts and abbreviates by surname."""
    name = _BARE_SPECIAL.sub(r"\\\1", " ".join(str(name).split()).replace("{", "").replace("}", ""))
    if "," in name or " " not in name:
        return name
    first, _, last = name.rpartition(" ")
    return f"{last}, {first}"


def _balanced(text: str) -> bool:
    depth = 0
    for index, char in enumerate(text):
        if index and text[index - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _year(paper: Paper) -> int:
    return paper.published_at.year if paper.published_at else paper.first_seen.year


def _ascii_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _key(paper: Paper) -> str:
    surname = ""
    if paper.authors:
        surname = _ascii_word(
            str(paper.authors[0]).split()[-1] if str(paper.authors[0]).split() else ""
        )
    words = [_ascii_word(w) for w in readable(paper.title).split()]
    first_word = next((w for w in words if len(w) > 3), words[0] if words else "")
    return f"{surname or 'anon'}{_year(paper)}{first_word}"


def _unique(key: str, used: set[str]) -> str:
    candidate, suffix = key, ord("b")
    while candidate in used:
        candidate, suffix = f"{key}{chr(suffix)}", suffix + 1
    used.add(candidate)
    return candidate

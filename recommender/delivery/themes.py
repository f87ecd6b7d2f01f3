"""The themes of a digest: phrases of the reader's own that most of its papers share, for its
subject and headline."""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Sequence
from typing import NamedTuple

from accounts.models import InterestProfile

from ..models import DigestItem
from ..text import readable

# Words too general to name what a day's papers share ("learning", "models").
_GENERIC = frozenset(
    """a an and or the of for in on to with from by via using based towards toward into at as is
    are be we our their its this that these those new novel learning model models method methods
    approach approaches paper papers study studies data system systems network networks task
    tasks deep machine large small efficient robust towards like such other more less""".split()
)
# Generic words that complete a phrase as the reader wrote it: "robot learning".
_HEADS = frozenset("learning models model systems networks methods policies agents".split())
_CHUNK_BREAK = re.compile(r"[,.;:()\[\]/\n]| and | or | for | with | in | of | on | to | via ")


def themes(items: Sequence[DigestItem], profile: InterestProfile, *, limit: int = 2) -> list[str]:
    """Up to `limit` phrases of the reader's own (keywords, then interests text) that most of
    the picks share, as the reader wrote them; none when no phrase covers enough picks.

    A phrase counts for a pick when its words appear in a row in the title or abstract
    (plurals, case and hyphens aside). Longer phrases say more, so they win over a single word
    that covers a few more picks: "vision-language-action models" before "robots".
    """
    if len(items) < 2:
        return []
    papers = [_paper_words(item.paper.title, item.paper.abstract) for item in items]
    needed = max(2, math.ceil(0.3 * len(items)))
    scored = []
    for order, (core, display) in enumerate(_candidate_phrases(profile)):
        key = _stem_tuple(core)
        covered = sum(1 for paper in papers if paper.holds(key))
        if covered >= needed:
            weight = covered * (1 + 0.5 * (len(key) - 1))
            scored.append((-weight, order, core, display))
    chosen: list[tuple[str, str]] = []
    for _weight, _order, core, display in sorted(scored):
        if len(chosen) == limit:
            break
        if not any(set(_stem_tuple(core)) & set(_stem_tuple(other)) for other, _ in chosen):
            chosen.append((core, display))
    return [display for _core, display in chosen]


_WORD = re.compile(r"[a-z0-9]+")
_LONGEST_PHRASE = 6  # words in a reader's phrase, at most


class _Words(NamedTuple):
    """A paper's stemmed words in order, and the set of them."""

    sequence: tuple[str, ...]
    present: frozenset[str]

    def holds(self, phrase: tuple[str, ...]) -> bool:
        """Whether the words of `phrase` appear in a row."""
        if not phrase or not self.present.issuperset(phrase):
            return False
        if len(phrase) == 1:
            return True
        size, start = len(phrase), 0
        while True:
            try:
                at = self.sequence.index(phrase[0], start)
            except ValueError:
                return False
            if self.sequence[at : at + size] == phrase:
                return True
            start = at + 1


@functools.lru_cache(maxsize=4096)
def _paper_words(title: str, abstract: str) -> _Words:
    """A paper's stemmed words, once per paper and process; each reader's phrases are then
    looked for in them. (Every run of up to six words as a set, as before, held 150 KB per
    paper: 81 MiB for one day's 554 papers in a worker, up to 600 MiB for the cache's 4,096.)
    Stems are interned, so a word common to many papers is stored once."""
    text = f"{readable(title)} {readable(abstract)}".lower()
    words = tuple(sys.intern(_stem(word)) for word in _WORD.findall(text))
    return _Words(words, frozenset(words))


@functools.lru_cache(maxsize=16384)
def _stem_tuple(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(word) for word in _WORD.findall(phrase.lower()))


def _candidate_phrases(profile: InterestProfile) -> list[tuple[str, str]]:
    """(core, display) pairs: the core has no generic word at either end and is what must
    appear in a paper; the display is how the reader wrote it ("robot learning" for the core
    "robot"), the longest of the forms they used."""
    found: dict[tuple[str, ...], list[str]] = {}
    sources = [str(k) for k in profile.keywords] + _CHUNK_BREAK.split(profile.interests_text)
    for chunk in sources:
        words = [w.strip("-'\"") for w in chunk.lower().split()]
        words = [w for w in words if w]
        for size in range(min(len(words), 4), 0, -1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if gram[0] in _GENERIC or gram[-1] in _GENERIC:
                    continue
                core = " ".join(gram)
                if len(core) < 4:
                    continue
                after = words[start + size] if start + size < len(words) else ""
                display = f"{core} {after}" if after in _HEADS else core
                key = _stem_tuple(core)
                if not 0 < len(key) <= _LONGEST_PHRASE:
                    continue
                forms = found.setdefault(key, [core])
                forms.append(display)
    return [(forms[0], max(forms[1:], key=len)) for forms in found.values()]


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and len(word) > 4:
        return word[:-1]
    return word

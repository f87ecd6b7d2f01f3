"""Light morphology for lexical matching: a suffix stemmer and the key of a typed term.

Kept apart from lexical.py because it knows nothing about the model: it maps a word or a
two-word phrase, as the analyzer reads it, to the key under which its other forms meet
("localizing", "localization" and "localized"; "tensor-product" and "tensor products").
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import lru_cache

# Suffixes stripped by `stem`, longest first; a stem keeps at least MIN_STEM letters. Only word
# endings that change the form, not the topic, of a technical word ("segmentation" and
# "segmenting" meet at "segment"; "generative" and "generation" at "gener").
_SUFFIXES = tuple(
    sorted(
        (
            "izations ization isations isation izing ising ized ised izes ises ize ise "
            "ations ation ational ating ated ates ate ative atives "
            "ements ement ments ment "
            "ings ing edly ed "
            "ities ity ical ically ic "
            "ers er ors or "
            "ness ly"
        ).split(),
        key=len,
        reverse=True,
    )
)
MIN_STEM = 4


# Memoised: a day's papers repeat their words, and each call tries the suffixes one by one
# (stemming the terms of 300 papers outside the vocabulary took 0.29 s uncached).
@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light stem of one already plural-folded, lower-case word."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


# Plural endings features.fold_plural leaves alone because most words ending so are singular
# ("analysis", "status", "bias"); here a word ending so is folded when the model's vocabulary
# also holds it without the "s" ("videos" -> "video", "days" -> "day").
_UNFOLDED_PLURAL = ("os", "us", "is", "as", "ys")


def stem_term(term: str, words: Container[str] = frozenset()) -> str:
    """The stem key of a term (one word or a space-separated phrase); `words` holds the
    vocabulary's single words (the vocabulary itself will do), for the plurals the tokenizer
    does not fold. A word of two parts joined by a hyphen has the key of the two-word phrase
    ("tensor-product" and "tensor product" meet; see `_hyphen_phrase`)."""
    out = []
    for word in _hyphen_phrase(term).split(" "):
        if word.endswith(_UNFOLDED_PLURAL) and len(word) > 3 and word[:-1] in words:
            word = word[:-1]
        out.append(stem(word))
    return " ".join(out)


# A hyphenated compound is read as a phrase only when both parts are words of two letters or
# more: "llama-3", "u-net" and "gpt-4" stay whole (bare numbers are not tokens at all, and a
# one-letter part says too little: "u net" is no phrase of the 65,491-paper stream fit).
_HYPHEN_COMPOUND = re.compile(r"^([a-z][a-z0-9]+)-([a-z][a-z0-9]+)$")


def _hyphen_phrase(term: str) -> str:
    """A one-word term of two hyphen-joined parts as the phrase of those parts, else the term.

    The tokenizer keeps hyphenated words whole ("tensor-product"), so a person who types the
    compound and a paper that writes the two words apart ("tensor products") had no term in
    common, nor the other way round; folding both to one key is the same kind of morphology as
    the plural and suffix folding. Compounds of three or more parts ("text-to-image") are left
    whole: the analyzer's phrases drop their stop words, which would need the stop list here."""
    match = _HYPHEN_COMPOUND.match(term)
    return f"{match.group(1)} {match.group(2)}" if match else term

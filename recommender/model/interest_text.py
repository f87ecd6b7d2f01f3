"""What an interest text says before it is vectorised: request words dropped, and whether it is
English at all (the stored papers are). Plain functions of the text; profiles.py uses them."""

from __future__ import annotations

import re

# Words people use to ask for papers that say nothing about which papers ("I'd like recent
# papers about ..."); dropped from interest text before it is vectorised.
REQUEST_WORDS = frozenset(
    (
        "paper papers article articles preprint preprints publication publications research "
        "researcher study studies work works topic topics field fields area areas interested "
        "interest interests like love want wish need read reading recent latest new newest "
        "anything stuff things related regarding especially particular particularly please "
        "digest send follow keen curious enjoy"
    ).split()
)
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:-[^\W_]+)*")
# Contractions: a negated auxiliary ("don't", "isn't") is a function word, dropped whole; any
# other ending after an apostrophe ("I'm", "I've", "model's") is dropped from its word. Split
# at the apostrophe instead, they left one-letter terms ("m", "s", "d") that are in the
# vocabulary (units, indices) and weighed as much as a topic word.
_APOSTROPHE = "['\u2019]"  # typed, or the curly one editors put in
_NEGATED_AUXILIARY = re.compile(rf"\b[^\W\d_]+n{_APOSTROPHE}t\b", re.IGNORECASE)
_CONTRACTION_ENDING = re.compile(rf"(?<=[^\W\d_]){_APOSTROPHE}[^\W\d_]{{1,2}}\b")


def clean_interest_text(text: str) -> str:
    text = _CONTRACTION_ENDING.sub("", _NEGATED_AUXILIARY.sub(" ", text))
    return " ".join(word for word in _WORD.findall(text) if word.lower() not in REQUEST_WORDS)


# Function words of the languages people most often write in instead of English; a text with
# more of these than English ones is not English (vocabulary checks fail on small corpora).
FOREIGN_FUNCTION_WORDS = frozenset(
    (
        "le la les des du au aux et est pour dans sur une un avec sans sont qui ces cette "
        "der die das und ist für mit von zu den dem ein eine auf nicht sich über "
        "el los las del y para con por que una es lo como más sobre entre "
        "il della delle degli per che di gli nel alla sono "
        "os das uma em com não são pelo pela "
        "het een van voor niet op zijn"
    ).split()
)


def language_problem(text: str, english: frozenset[str]) -> str | None:
    """A message when the text does not look like English (our papers are in English);
    `english`: English function words (english_words)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return None
    foreign_script = sum(1 for word in words if not word.isascii())
    foreign_words = sum(1 for word in words if word in FOREIGN_FUNCTION_WORDS)
    english_count = sum(1 for word in words if word in english)
    if foreign_script * 2 > len(words) or (foreign_words >= 2 and foreign_words > english_count):
        return (
            "Your interest text does not look like English; the papers are in English, so "
            "describe your interests in English (or add keywords, categories or seed papers)."
        )
    return None

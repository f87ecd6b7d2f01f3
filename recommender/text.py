# ruff: noqa: RUF001 (the Unicode look-alikes are the point: this module writes them)
"""Paper titles and abstracts as readable text: the LaTeX that arXiv metadata carries, turned
into the characters a reader expects (`$Ω$` -> Ω, `D$^{2}$R` -> D²R, `of~Interval` -> "of
Interval", `\\textbf{X}` -> X, `Schr\\"odinger` -> Schrödinger).

One function, `readable`, used by every place that shows paper text to a person: the digest
email, the web pages, the feed and the admin. It never raises and never grows the text much:
what it does not know, it unwraps (`\\foo{x}` -> x) or spells out (`\\foo` -> foo).
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()niabcdefghjklmoprstuvwxyzABDEGHIJKLMNOPRTUVW*",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ*",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)

_GREEK = (
    "alpha α beta β gamma γ delta δ epsilon ε varepsilon ε zeta ζ eta η theta θ vartheta ϑ "
    "iota ι kappa κ lambda λ mu μ nu ν xi ξ pi π varpi ϖ rho ρ varrho ϱ sigma σ varsigma ς "
    "tau τ upsilon υ phi φ varphi φ chi χ psi ψ omega ω Gamma Γ Delta Δ Theta Θ Lambda Λ "
    "Xi Ξ Pi Π Sigma Σ Upsilon Υ Phi Φ Psi Ψ Omega Ω"
).split()
_SYMBOLS = dict(zip(_GREEK[::2], _GREEK[1::2], strict=True)) | {
    "times": "×",
    "cdot": "·",
    "circ": "∘",
    "neq": "≠",
    "ne": "≠",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "approx": "≈",
    "sim": "~",
    "simeq": "≃",
    "equiv": "≡",
    "pm": "±",
    "mp": "∓",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "Rightarrow": "⇒",
    "leftarrow": "←",
    "uparrow": "↑",
    "downarrow": "↓",
    "Uparrow": "⇑",
    "Downarrow": "⇓",
    "eg": "e.g.",
    "ie": "i.e.",
    "etc": "etc.",
    "vs": "vs.",
    "leftrightarrow": "↔",
    "mapsto": "↦",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "sqrt": "√",
    "ell": "ℓ",
    "hbar": "ℏ",
    "langle": "⟨",
    "rangle": "⟩",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "star": "⋆",
    "ast": "*",
    "dagger": "†",
    "prime": "′",
    "degree": "°",
    "%": "%",
    "textregistered": "®",
    "texttrademark": "™",
    "textcopyright": "©",
    "textpertenthousand": "‱",
    "textperthousand": "‰",
    "textasciitilde": "~",
    "Vert": "‖",
    "vert": "|",
    "mid": "|",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
}
_DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "F": "𝔽", "E": "𝔼", "P": "ℙ"}
_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
    "v": "\u030c",
    "u": "\u0306",
    "H": "\u030b",
    "k": "\u0328",
    "r": "\u030a",
}
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "l": "ł", "L": "Ł"}

# Placeholders for escaped characters, so the passes below do not read them as markup.
_DOLLAR, _LBRACE, _RBRACE, _TILDE = "\x00", "\x01", "\x02", "\x03"
# ... and for the ^ and _ of a script spelled out, so it is not scripted a second time.
_CARET, _UNDERSCORE = "\x04", "\x05"
# Operators that read as words: `n\log n` -> "n log n".
_OPERATORS = frozenset(
    "log ln exp sin cos tan max min arg argmax argmin lim sup inf det dim ker Pr mod".split()
)

_ACCENT = re.compile(r"""\{?\\(['`^"~=.]|[cvuHkr](?=[\s{]))\s*\{?\s*(\\?[A-Za-z])\}?\}?""")
_LETTER = re.compile(r"\{?\\(ss|ae|AE|oe|o|O|l|L)\}?(?![A-Za-z])")
_FONT = (
    r"text|textbf|textit|textsl|textsc|texttt|textrm|textsf|textnormal|textup|emph|underline|"
    r"mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathscr|mathfrak|mathnormal|boldsymbol|bm|"
    r"operatorname|mbox|hbox|url"
)
_FONT_COMMAND = re.compile(rf"\\(?:{_FONT})\*?\s*\{{([^{{}}]*)\}}")
_MATHBB = re.compile(r"\\mathbb\s*\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEXT_SUPERSCRIPT = re.compile(r"\\textsuperscript\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?")
_SCRIPT = re.compile(r"([\^_])\s*(\{[^{}^_]*\}|[^\s{}\\^_])")
_BRACED_SUPERSCRIPT = re.compile(r"\^\{([^{}]*)\}")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])\s*\\?")
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad")
_NAMED = re.compile(r"\\([A-Za-z]+)\*?")
_COMMAND_WITH_ARGUMENT = re.compile(r"\\[a-zA-Z]+\*?\s*\{([^{}]*)\}")
# A tie joins two words (`of~Interval`); a tilde with space around it is meant as itself.
_TIE = re.compile(r"(?<=[^\s/])~(?=\S)")
_ESCAPES = {"|": "‖", "-": "", "@": "", "/": "", "+": "+", ">": ">", "<": "<"}
_ESCAPE = re.compile(r"\\([-|@/+<>])")
_DISPLAY_MATH = re.compile(r"\\[()\[\]]")
# Words of prose: an abstract that mentions "$2,000" and "$45" is not math in between.
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}\b")
_MARKUP = re.compile(r"[\\$~{^]|--|``|''")


def readable(value: object) -> str:
    """`value` with its LaTeX markup turned into plain Unicode text on one line."""
    return _readable(str(value or ""))


# A chunk of digests shows the same few hundred papers to every reader: clean each text once.
@functools.lru_cache(maxsize=8192)
def _readable(text: str) -> str:
    if not _MARKUP.search(text):
        return " ".join(text.split())
    text = (
        text.replace("\\$", _DOLLAR)
        .replace("\\{", _LBRACE)
        .replace("\\}", _RBRACE)
        .replace("\\~{}", _TILDE)
    )
    text = _DISPLAY_MATH.sub("$", text)
    text = _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], text)
    text = _ACCENT.sub(_accented, text)
    text = _LETTER.sub(lambda m: _LETTERS[m.group(1)], text)
    parts = text.split("$")
    if len(parts) % 2 == 0:  # an unpaired dollar: the last stretch is text, not math
        parts[-2:] = [parts[-2] + parts[-1]]
    text = "".join(_segment(part, is_math=i % 2 == 1) for i, part in enumerate(parts))
    text = (
        text.replace(_DOLLAR, "$")
        .replace(_LBRACE, "{")
        .replace(_RBRACE, "}")
        .replace(_TILDE, "~")
        .replace(_CARET, "^")
        .replace(_UNDERSCORE, "_")
    )
    return " ".join(text.split())


def _segment(part: str, *, is_math: bool) -> str:
    if not is_math:
        return _text(part)
    if len(_PROSE_WORD.findall(part)) >= 5:
        return f"${_text(part)}$"
    return _math(part)


def _accented(match: re.Match) -> str:
    letter = match.group(2).lstrip("\\")
    if letter == "i":  # \'{\i}: a dotless i takes the accent
        letter = "i"
    return unicodedata.normalize("NFC", letter + _ACCENTS[match.group(1)])


def _unwrap(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _MATHBB.sub(lambda m: _DOUBLE_STRUCK.get(m.group(1).strip(), m.group(1)), text)
        text = _FONT_COMMAND.sub(r"\1", text)
        text = _FRAC.sub(lambda m: f"{_operand(m.group(1))}/{_operand(m.group(2))}", text)
    return text


def _operand(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


def _math(text: str) -> str:
    text = re.sub(r"\\([&%#_])", r"\1", text)
    text = _DEGREE.sub("°", text)
    text = _SPACING.sub(" ", text)
    text = _SIZING.sub("", text)
    # Symbols first (so `\alpha^2` scripts a letter), structure (\frac, \mathbf) after.
    text = _NAMED.sub(_math_symbol, text)
    previous = None
    while previous != text:
        previous = text
        text = _SCRIPT.sub(_script, _unwrap(text))
    text = _NAMED.sub(r"\1", text)
    return text.replace("{", "").replace("}", "").replace("~", " ")


def _math_symbol(match: re.Match) -> str:
    name = match.group(1)
    if name in _OPERATORS:
        return f" {name} "
    return _SYMBOLS.get(name, match.group(0))


def _known_symbol(match: re.Match) -> str:
    return _SYMBOLS.get(match.group(1), match.group(0))


def _script(match: re.Match) -> str:
    marker, body = match.groups()
    body = body.strip("{}").strip()
    table = _SUPERSCRIPTS if marker == "^" else _SUBSCRIPTS
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    # No Unicode form for every character: spell the script out, as people type it.
    marker = _CARET if marker == "^" else _UNDERSCORE
    return f"{marker}{body}" if len(body) <= 1 else f"{marker}({body})"


def _text(text: str) -> str:
    text = text.replace("---", "—").replace("--", "–")
    text = text.replace("``", "“").replace("''", "”")
    text = text.replace("\\\\", " ")
    text = re.sub(r"\\([&%#_])", r"\1", text)
    text = _NAMED.sub(_known_symbol, text).replace("{}", "")
    text = _SPACING.sub(" ", text)
    text = _TEXT_SUPERSCRIPT.sub(lambda m: _script_text("^", m.group(1)), text)
    text = _BRACED_SUPERSCRIPT.sub(lambda m: _script_text("^", m.group(1)), text)
    text = _TIE.sub(" ", text)
    text = _unwrap(text)
    previous = None
    while previous != text:
        previous, text = text, _COMMAND_WITH_ARGUMENT.sub(r"\1", text)
    text = _NAMED.sub(lambda m: _SYMBOLS.get(m.group(1), m.group(1)), text)
    return text.replace("{", "").replace("}", "")


def _script_text(marker: str, body: str) -> str:
    return _script(re.match(r"(.)(.*)", f"{marker}{{{body}}}", re.S))

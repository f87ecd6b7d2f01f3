"""arXiv identifiers: the one parser every part of the project uses.

Two styles exist (https://info.arxiv.org/help/arxiv_identifier.html):

* new style, since April 2007: ``YYMM.NNNN`` until December 2014, ``YYMM.NNNNN`` from January
  2015 (``1412.6980``, ``1501.00001``); the month must be 01-12;
* old style, before: ``archive(.SUBJECT-CLASS)/YYMMNNN`` (``hep-th/9901001``,
  ``math.GT/0309136``). The subject class is not part of the identity: the canonical form is
  ``math/0309136``.

Either may carry a version (``v2``), an ``arXiv:`` prefix, or come as an arxiv.org abs/pdf link.
Canonical ids are versionless; the version is returned beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NEW = r"(?P<new>(?P<yymm>\d{2}(?:0[1-9]|1[0-2]))\.(?P<number>\d{4,5}))"
_OLD = (
    r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[a-z]{2})?"
    r"/(?P<serial>\d{2}(?:0[1-9]|1[0-2])\d{3}))"
)
_VERSION = r"(?:v(?P<version>\d{1,9}))?"
_ID = rf"(?:{_NEW}|{_OLD}){_VERSION}"
_BARE = re.compile(rf"^(?:arxiv:\s*)?{_ID}$", re.IGNORECASE)
_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{_ID}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ArxivId:
    """A canonical, versionless arXiv id and the version it was given with (None: none given)."""

    id: str
    version: int | None = None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"


def parse(value: object) -> ArxivId | None:
    """The id named by `value` (a bare id, ``arXiv:`` id or arxiv.org link), or None.

    >>> parse("arXiv:math.GT/0309136v2")
    ArxivId(id='math/0309136', version=2)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _BARE.match(text) or _URL.match(text)
    if match is None:
        return None
    if match.group("new"):
        if len(match.group("number")) != _new_style_digits(match.group("yymm")):
            return None
        canonical = match.group("new")
    else:
        canonical = f"{match.group('archive').lower()}/{match.group('serial')}"
    version = match.group("version")
    return ArxivId(canonical, int(version) if version is not None else None)


def normalise(value: object) -> str | None:
    """The canonical versionless id of `value`, or None when it names none."""
    parsed = parse(value)
    return parsed.id if parsed else None


def _new_style_digits(yymm: str) -> int:
    # The sequence number got a fifth digit in January 2015; never the other way round.
    return 5 if yymm >= "1501" else 4

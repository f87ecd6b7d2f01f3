"""arXiv identifiers: one parser for sources, pasted seed papers and profiles."""

from __future__ import annotations

import contextlib

import pytest

from accounts.references import parse_reference
from digest_site.arxiv_ids import ArxivId, normalise, parse

CASES = [
    # new style: bare, versioned, prefixed, links
    ("2503.11731", ArxivId("2503.11731")),
    ("2503.11731v2", ArxivId("2503.11731", 2)),
    ("arXiv:2401.00001v10", ArxivId("2401.00001", 10)),
    ("arxiv: 2401.00001", ArxivId("2401.00001")),
    ("http://arxiv.org/abs/2503.11731v2", ArxivId("2503.11731", 2)),
    ("https://arxiv.org/pdf/2503.11731v1", ArxivId("2503.11731", 1)),
    ("https://arxiv.org/pdf/2503.11731v3.pdf", ArxivId("2503.11731", 3)),
    ("https://export.arxiv.org/abs/2503.11731/", ArxivId("2503.11731")),
    ("https://www.arxiv.org/abs/2503.11731?context=cs", ArxivId("2503.11731")),
    ("  2503.11731  ", ArxivId("2503.11731")),
    # four digits until December 2014, five from January 2015
    ("1412.6980", ArxivId("1412.6980")),
    ("1501.00001", ArxivId("1501.00001")),
    ("1412.69801", None),
    ("1501.0001", None),
    ("2503.117", None),
    # months 01-12 only
    ("2513.12345", None),
    ("2500.12345", None),
    ("https://arxiv.org/abs/2513.12345", None),
    # old style: the subject class is not part of the id
    ("hep-th/9901001", ArxivId("hep-th/9901001")),
    ("hep-th/9901001v1", ArxivId("hep-th/9901001", 1)),
    ("math.GT/0309136", ArxivId("math/0309136")),
    ("math.AG/0309136v2", ArxivId("math/0309136", 2)),
    ("HEP-TH/9901001", ArxivId("hep-th/9901001")),
    ("https://arxiv.org/abs/math.GT/0309136", ArxivId("math/0309136")),
    ("hep-th/9913001", None),
    ("hep-th/990100", None),
    # not ids at all
    ("", None),
    ("Attention Is All You Need", None),
    ("https://example.org/abs/2503.11731", None),
    (None, None),
    (2503.11731, None),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_it_parses_every_form_of_an_arxiv_id(value, expected):
    assert parse(value) == expected
    assert normalise(value) == (expected.id if expected else None)


@pytest.mark.parametrize(("value", "expected"), [c for c in CASES if isinstance(c[0], str)])
def test_pasted_references_agree_with_the_parser(value, expected):
    """The seed-paper form reads ids through the same parser: an id it rejects is an error
    there, never silently taken as a title."""
    if expected is not None:
        assert parse_reference(value).arxiv_id == expected.id
        return
    reference = None
    with contextlib.suppress(ValueError):  # refused outright, or...
        reference = parse_reference(value)
    assert reference is None or reference.arxiv_id == ""  # ...at most a title, never a wrong id


def test_ids_carry_their_canonical_links():
    parsed = parse("arXiv:math.GT/0309136v2")
    assert parsed.abs_url == "https://arxiv.org/abs/math/0309136"
    assert parsed.pdf_url == "https://arxiv.org/pdf/math/0309136"

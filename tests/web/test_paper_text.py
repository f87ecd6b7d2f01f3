"""Abstracts in emails read as prose, not LaTeX source."""

from __future__ import annotations

import pytest

from recommender.templatetags.paper_text import plain_text


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        (r"we propose \textbf{Event-VLA}, a model", "we propose Event-VLA, a model"),
        (r"\emph{\textbf{nested}} markup", "nested markup"),
        (r"error $O(n \log n)$ in time", "error O(n log n) in time"),
        (r"costs \$5 per run", "costs $5 per run"),
        ("plain text\nwith  line breaks", "plain text with line breaks"),
    ],
)
def test_it_unwraps_latex_markup(latex, plain):
    assert plain_text(latex) == plain


def test_it_shows_clean_abstracts_in_the_digest_email(make_subscriber, make_paper):
    from datetime import UTC, date, datetime

    from django.core import mail

    from recommender.delivery import digests, sending

    make_paper(
        title="Event cameras for robot grasping",
        abstract=r"We propose \textbf{Event-Grasp} for robot grasping with event cameras.",
        categories=["cs.RO"],
        first_seen=date(2026, 6, 30),
    )
    reader = make_subscriber(interests_text="robot grasping with event cameras")
    digest, _ = digests.build_digest(reader, moment=datetime(2026, 7, 1, 7, tzinfo=UTC))

    assert sending.send_digest(digest)

    html = mail.outbox[0].alternatives[0][0]
    assert "We propose Event-Grasp for robot grasping" in mail.outbox[0].body
    assert "We propose Event-Grasp for robot grasping" in html
    assert "textbf" not in mail.outbox[0].body + html

# ruff: noqa: RUF001 (paper titles with Greek letters and typographic quotes)
"""Digest emails rendered in bulk (digest_email.DigestRenderer: each paper's block once, the
frame once per shape) are the same bytes as every template rendered per email."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail

from accounts import tokens
from digest_site.mailing.messages import render_email, short_lines
from recommender.delivery import digest_email, sending
from recommender.models import Digest, DigestItem, Paper
from recommender.ranking.scoring import TRENDING_RANKER

NOW = 1_790_000_000.0  # one signing time for both paths, so their links are the same


@pytest.fixture
def papers(make_paper):
    """A day's papers with everything a block can show, and text that needs escaping."""
    made = [
        make_paper(
            title=r"Dexterous robot manipulation with tactile $\alpha$-policies",
            abstract="We study robot manipulation & grasping <in the wild> " + "word " * 80,
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel"],
            categories=["cs.RO", "cs.LG", "cs.AI", "cs.CV"],
            curation=Paper.Curation.FEATURED,
            upvotes=12,
            num_comments=1,
            code_url="https://github.com/x/y?a=1&b=2",
            doi="10.1145/3580305.3599337",
            project_url='https://example.org/"quoted"',
        ),
        make_paper(
            title=r"Schr\"odinger bridges for $\Omega$-robust world models",
            abstract="Robot manipulation from video.\r\nA second line, a\xa0non-breaking space.",
            authors=[],
            categories=[],
            arxiv_id=None,
            abs_url="https://example.org/paper?id=1&v=2",
        ),
    ]
    made += [make_paper(title="R&D on robots & <agents>", abstract="Short & sweet.")]
    made += [
        make_paper(
            title=f"World models for robot manipulation, part {n} “quoted” & <tagged>",
            abstract=f"Robot manipulation paper {n}. " + "More text here. " * n,
            upvotes=n,
        )
        for n in range(4, 13)
    ]
    return made


def make_digest(
    subscriber,
    papers,
    *,
    ranker="model-v1",
    note="",
    reasons=None,
    frequency="daily",
    period=date(2026, 7, 1),
):
    digest = Digest.objects.create(
        subscriber=subscriber,
        period_start=period,
        ranker=ranker,
        note=note,
        frequency=frequency,
    )
    for rank, paper in enumerate(papers, start=1):
        DigestItem.objects.create(
            digest=digest,
            paper=paper,
            rank=rank,
            score=1.0 - rank / 100,
            reason=(reasons or {}).get(rank, f"matches: robot manipulation (#{rank})"),
        )
    return Digest.objects.select_related("subscriber__profile").get(pk=digest.pk)


@pytest.fixture
def digests(make_subscriber, papers, settings):
    """Digests of several readers over the same papers, in several shapes."""
    settings.DIGEST_MAX_ITEMS = 10
    ada = make_subscriber("ada@example.com", interests_text="robot manipulation, world models")
    bob = make_subscriber("bob+tag@example.com", keywords=["Schrödinger bridges"])
    cy = make_subscriber("cy@example.com", interests_text="protein folding", frequency="weekly")
    dee = make_subscriber("dee@example.com")
    odd_reasons = {1: 'similar to "your" paper & <others>', 2: "", 3: "a\xa0b\r\nc"}
    return [
        make_digest(ada, papers[:10]),
        # The same papers at other ranks (a short abstract where Ada has a long one), and a
        # digest note from the ranking as the reader must see it.
        make_digest(bob, papers[::-1][2:], note="Unknown seed paper: 9999.99999 & <x>"),
        # Few matches: the floor note; weekly; reasons that need escaping or are empty.
        make_digest(cy, papers[2:5], reasons=odd_reasons, frequency="weekly"),
        make_digest(dee, papers[2:3], ranker=TRENDING_RANKER),  # one paper, trending
        make_digest(dee, papers[6:8], note="two\r\nlines", period=date(2026, 7, 2)),
    ]


def items_of(digest) -> list[DigestItem]:
    return list(digest.items.select_related("paper").order_by("rank"))


@pytest.mark.parametrize("web", [False, True])
def test_a_bulk_rendered_digest_is_the_same_as_its_templates_render(digests, web):
    renderer = digest_email.DigestRenderer()
    for _round in range(2):  # the second round is served from the renderer's caches
        for digest in digests:
            items, reader = items_of(digest), digest.subscriber
            signer = tokens.LinkSigner(reader, now=NOW)
            plain = render_email(
                "digest",
                digest_email.template_context(digest, items, reader, web=web, signer=signer),
            )
            bulk = renderer.render(digest, items, reader, web=web, signer=signer)
            assert bulk.subject == plain.subject
            assert bulk.text == plain.text
            assert bulk.html == plain.html
            # The context the send path hands to make_message renders the same, too.
            context = renderer.context(digest, items, reader, web=web, signer=signer)
            assert render_email("digest", context) == plain


def test_the_shapes_differ_where_the_readers_do(digests):
    """Guards the comparison above against comparing two empty or identical renders."""
    renderer = digest_email.DigestRenderer()
    ada, bob, cy, dee, _ = (
        renderer.render(d, items_of(d), d.subscriber, signer=tokens.LinkSigner(d.subscriber))
        for d in digests
    )
    assert "ada@example.com" in ada.text
    assert "bob+tag@example.com" in bob.html
    assert "Unknown seed paper: 9999.99999 &amp; &lt;x&gt;" in bob.html
    assert 'similar to "your" paper &amp; &lt;others&gt;' in cy.html
    assert "Only 3 papers matched your interests closely" in cy.html
    assert "Week of" in cy.subject
    assert "people are reading" in dee.html
    assert "Featured by the editors" in ada.html
    assert "Ω-robust" in bob.text
    assert "https://github.com/x/y?a=1&amp;b=2" in ada.html
    assert "https://doi.org/10.1145/3580305.3599337" in ada.html
    assert ada.html.count("/feedback/") == 20
    assert bob.html.count("/open/") == 20


def test_a_paper_whose_text_looks_like_a_placeholder_is_rendered_the_plain_way(
    make_subscriber, make_paper
):
    odd = make_paper(title="A title with \ue000rank\ue001 in it", abstract="\ue001 odd \ue000")
    reader = make_subscriber()
    digest = make_digest(reader, [odd, make_paper()])
    signer = tokens.LinkSigner(reader, now=NOW)
    items = items_of(digest)
    plain = render_email(
        "digest", digest_email.template_context(digest, items, reader, signer=signer)
    )
    assert digest_email.DigestRenderer().render(digest, items, reader, signer=signer) == plain
    assert "with \ue000rank\ue001 in it" in plain.text


def test_a_changed_paper_is_rendered_afresh_by_a_long_lived_renderer(make_subscriber, papers):
    reader = make_subscriber()
    digest = make_digest(reader, papers[:2])
    renderer = digest_email.DigestRenderer()
    assert "tactile α-policies" in renderer.render(digest, items_of(digest), reader).html
    Paper.objects.filter(pk=papers[0].pk).update(title="A corrected title")
    again = renderer.render(digest, items_of(digest), reader).html
    assert "A corrected title" in again
    assert "tactile" not in again


def test_the_subject_shows_ampersands_and_brackets_as_written(make_subscriber, make_paper):
    reader = make_subscriber(interests_text="protein design")
    title = "R&D on robots & <agents>"
    digest = make_digest(reader, [make_paper(title=title)])
    assert sending.send_digest(digest)
    (message,) = mail.outbox
    assert message.subject == f"Wed 1 Jul: 1 paper, {title}"
    html = message.alternatives[0][0]
    assert "<title>Wed 1 Jul: 1 paper, R&amp;D on robots &amp; &lt;agents&gt;</title>" in html


def test_the_html_part_travels_as_8bit_with_lines_under_the_limit(digests):
    """Inlined styles made lines of 1,200 bytes, which sent the HTML quoted-printable (slow to
    encode, a third larger); each style attribute now starts a line of its own."""
    for digest in digests:
        mail.outbox.clear()
        assert sending.send_digest(digest)
        (message,) = mail.outbox
        raw = message.message().as_bytes()
        assert b"quoted-printable" not in raw
        assert raw.count(b"Content-Transfer-Encoding: 8bit") == 2  # text and HTML
        sent = message.alternatives[0][0]
        assert max(len(line.encode()) for line in sent.splitlines()) <= 998
        # Without the breaks (only whitespace inside tags) it would not have fitted.
        joined = sent.replace("\nstyle=", " style=")
        assert max(len(line.encode()) for line in joined.splitlines()) > 998


def test_short_lines_breaks_only_where_whitespace_is_whitespace():
    cell = '<td class="x" style="color: red;"><a href="https://e.org/a b">a</a></td>'
    html = "<table><tr>" + cell * 40 + "</tr></table>\n<p>short</p>"
    shortened = short_lines(html)
    assert max(len(line) for line in shortened.split("\n")) < 80
    assert shortened.replace("\nstyle=", " style=") == html
    # Text and attributes written with escaped quotes are left alone.
    text = "<p>" + "word " * 300 + 'style=&quot;x&quot; <a title="a href=&quot;b">' + "</p>"
    assert short_lines(text) == text


def test_a_full_renderer_drops_its_oldest_blocks_not_all_of_them(make_subscriber, papers):
    reader = make_subscriber()
    renderer = digest_email.DigestRenderer(max_blocks=8)
    first = make_digest(reader, papers[:8])
    renderer.render(first, items_of(first), reader)
    second = make_digest(reader, papers[8:10], period=date(2026, 7, 2))
    renderer.render(second, items_of(second), reader)
    kept = {key[0] for key in renderer._blocks}
    # Two places were needed: the oldest quarter (two blocks) went, the other six stayed.
    assert kept == {paper.pk for paper in papers[2:10]}

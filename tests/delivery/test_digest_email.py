# ruff: noqa: RUF001 (paper titles with Greek letters)
"""The digest email as a reader gets it: subject, preheader, headers, both parts, each paper's
block, the notes, the overview, and its size."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, date, datetime

import pytest
from django.core import mail

from recommender.delivery import digest_email, sending
from recommender.models import Digest, DigestItem, Paper
from recommender.ranking.scoring import TRENDING_RANKER

GMAIL_CLIP_BYTES = 102 * 1024


def make_digest(subscriber, papers, *, ranker="model-v1", note="", period=date(2026, 7, 1)):
    digest = Digest.objects.create(
        subscriber=subscriber, period_start=period, ranker=ranker, note=note
    )
    for rank, paper in enumerate(papers, start=1):
        DigestItem.objects.create(
            digest=digest, paper=paper, rank=rank, score=1.0 - rank / 100, reason="matches: robot"
        )
    return digest


def sent_message(digest):
    assert sending.send_digest(digest)
    (message,) = mail.outbox
    # Through the wire format, as a mail client sees it.
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


@pytest.fixture
def robot_papers(make_paper):
    titles = [
        r"Dexterous robot manipulation with tactile $\alpha$-policies",
        "Robot manipulation from human video",
        "World models for robot manipulation",
        "A survey of protein folding",
        "Graph transformers for molecules",
    ]
    return [
        make_paper(
            title=title,
            abstract=f"We study {title.lower()} in depth.",
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel"],
            categories=["cs.RO", "cs.LG"],
            first_seen=date(2026, 6, 30),
        )
        for title in titles
    ]


def test_it_has_a_subject_with_the_date_count_and_the_readers_own_theme(
    make_subscriber, robot_papers
):
    reader = make_subscriber(
        interests_text="Dexterous robot manipulation, and protein design", timezone="Asia/Tokyo"
    )
    message = sent_message(make_digest(reader, robot_papers))

    assert message["Subject"] == "Wed 1 Jul: 5 papers on robot manipulation"
    assert len(message["Subject"]) <= digest_email.SUBJECT_MAX
    assert message["To"] == "reader@example.com"
    assert message["Message-ID"]
    assert str(message["List-Unsubscribe"]).strip().startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_it_dates_the_subject_in_the_readers_zone(make_subscriber, make_paper):
    from recommender.delivery import digests

    make_paper(title="Robot manipulation at dawn", first_seen=date(2026, 6, 30))
    reader = make_subscriber(interests_text="robot manipulation", timezone="Pacific/Auckland")
    # 20:00 UTC on 30 June is already 1 July in Auckland.
    digest, _ = digests.build_digest(reader, moment=datetime(2026, 6, 30, 20, tzinfo=UTC))
    message = sent_message(digest)
    assert message["Subject"].startswith("Wed 1 Jul: 1 paper, ")


def test_it_keeps_long_subjects_within_the_limit(make_subscriber, make_paper):
    papers = [
        make_paper(title=f"Unrelated study {n} of " + "very long words " * 12) for n in range(3)
    ]
    reader = make_subscriber(interests_text="quantum chemistry")
    # Strip: the parser keeps the space of the encoded header's folded first line.
    subject = str(sent_message(make_digest(reader, papers))["Subject"]).strip()
    assert subject.startswith("Wed 1 Jul: 3 papers, Unrelated study 0 of very long")
    assert subject.endswith("…")
    assert len(subject) <= digest_email.SUBJECT_MAX


def test_it_shows_each_papers_facts_links_and_badges(make_subscriber, make_paper):
    paper = make_paper(
        arxiv_id="2606.12345",
        title=r"TerraDiT-$\Omega$: D$^{2}$R$^{2}$ Propagation of~Interval Belief",
        abstract=r"We propose \textbf{TerraDiT}, a model.",
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel"],
        first_seen=date(2026, 6, 30),
        code_url="https://github.com/example/terradit",
        project_url="https://terradit.example.org",
        upvotes=42,
        num_comments=3,
        curation=Paper.Curation.FEATURED,
    )
    plain = make_paper(arxiv_id="2606.54321", title="Second paper", authors=["Solo Author"])
    reader = make_subscriber(interests_text="terrain")
    message = sent_message(make_digest(reader, [paper, plain]))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    title = "TerraDiT-Ω: D²R² Propagation of Interval Belief"
    for body in (text, html):
        assert title in body
        assert "arXiv 2606.12345 · 30 Jun 2026" in body
        assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in body
        assert "Solo Author" in body
        assert "Featured by the editors" in body
        assert "42 upvotes" in body
        assert "3 comments" in body
        assert "https://arxiv.org/pdf/2606.12345" in body
        assert "https://github.com/example/terradit" in body
        assert "https://terradit.example.org" in body
        assert "We propose TerraDiT, a model." in body
        assert "$" not in body.split("Unsubscribe")[0]
    assert ">Code</a>" in html
    assert ">Project page</a>" in html
    # The second paper has no code: no empty "Code" link for it.
    second = html[html.index('id="paper-2"') :]
    assert ">Code</a>" not in second
    assert ">PDF</a>" in second


def test_it_says_so_when_few_papers_match_and_shows_the_digests_notes(
    make_subscriber, robot_papers, settings
):
    settings.DIGEST_MAX_ITEMS = 10
    reader = make_subscriber(interests_text="robot manipulation")
    note = "Seed papers not found in our library yet: 2501.99999."
    message = sent_message(make_digest(reader, robot_papers[:3], note=note))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    for body in (text, html):
        assert "Only 3 papers matched your interests closely" in body
        assert "We send only papers that match your interests closely" in body
        assert note in body
        assert "model-v1" not in body  # the ranker's label is internal
    assert "Only 3 papers" not in message["Subject"]
    assert message["Subject"].startswith("Wed 1 Jul: 3 papers")


def test_it_says_when_the_papers_are_a_trending_fallback(make_subscriber, robot_papers):
    reader = make_subscriber(interests_text="")
    message = sent_message(make_digest(reader, robot_papers, ranker=TRENDING_RANKER))
    text = message.get_body(("plain",)).get_content()
    assert "5 papers people are reading this day" in text
    assert "We could not match papers to your interests this time" in text
    assert TRENDING_RANKER not in text


def test_it_opens_with_an_overview_of_the_top_three_and_a_preheader(make_subscriber, robot_papers):
    reader = make_subscriber(interests_text="robot manipulation")
    message = sent_message(make_digest(reader, robot_papers))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    overview = text[text.index("TOP PICKS") : text.index("MORE PICKS")]
    assert overview.index("Dexterous robot manipulation") < overview.index("Robot manipulation")
    assert "World models for robot manipulation" in overview
    assert "A survey of protein folding" not in overview.split("\n\n1. ")[0]
    assert text.index("MORE PICKS") < text.index("4. A survey of protein folding")
    # The preheader is the first text in the body, hidden, naming the top picks.
    body = html[html.index("<body") :]
    preheader = re.search(r"<div[^>]*display:\s*none[^>]*>([^<]*)", body).group(1)
    assert preheader.startswith("Top picks: Dexterous robot manipulation with tactile α")
    assert '<a href="#paper-1"' in html


def test_it_inlines_css_keeps_dark_mode_rules_and_needs_no_images(make_subscriber, robot_papers):
    reader = make_subscriber(interests_text="robot manipulation")
    html = sent_message(make_digest(reader, robot_papers)).get_body(("html",)).get_content()

    head, body = html.split("<body", 1)
    assert "@media (prefers-color-scheme: dark)" in head
    assert 'content="light dark"' in head
    # Class rules were moved onto the elements: the More button carries its own style.
    more = re.search(r'<a class="btn btn-more"[^>]*style="([^"]+)"', body).group(1)
    assert "padding: 11px 14px" in more
    assert "line-height: 20px" in more
    assert ".paper { padding" not in html  # only the @media rules stay in the head
    # Nothing depends on images loading (blocked by default in many clients).
    assert "<img" not in html


def test_the_text_part_reads_on_its_own(make_subscriber, robot_papers):
    reader = make_subscriber(interests_text="robot manipulation")
    text = sent_message(make_digest(reader, robot_papers)).get_body(("plain",)).get_content()
    for leaked in ("<", "&amp;", "&#", "{{", "{%"):
        assert leaked not in text
    for paper in robot_papers:
        assert paper.readable_title in text
    assert len(re.findall(r"^   Read: http\S+/open/\S+/$", text, re.M)) == len(robot_papers)
    assert len(re.findall(r"^   More like this: http\S+/feedback/\S+/$", text, re.M)) == 5
    assert re.search(r"^View it in your browser: http\S+/digest/\S+/$", text, re.M)


def test_the_largest_digest_stays_under_gmails_clipping_limit(
    make_subscriber, make_paper, settings
):
    """The worst case the data allows: the most papers a digest holds, each with the longest
    title and abstract, fifty authors, every link and every badge."""
    settings.DIGEST_MAX_ITEMS = 20
    papers = [
        make_paper(
            title=f"Paper {n}: " + "a considerably long title word " * 9,
            abstract="An abstract sentence with many words in it. " * 60,
            authors=[f"Author Number{k} Surname{k}" for k in range(50)],
            categories=["cs.LG", "cs.CV", "cs.CL", "cs.RO", "stat.ML"],
            abs_url=f"https://arxiv.org/abs/2606.{n:05d}",
            pdf_url=f"https://arxiv.org/pdf/2606.{n:05d}v3",
            code_url=f"https://github.com/some-organisation/some-long-repository-name-{n}",
            project_url=f"https://some-organisation.github.io/some-long-project-page-{n}/",
            upvotes=1234,
            num_comments=56,
            curation=Paper.Curation.FEATURED,
        )
        for n in range(settings.DIGEST_MAX_ITEMS)
    ]
    reader = make_subscriber(
        "a.rather.long.address.of.a.researcher@department.university.example.org",
        interests_text="considerably long titles",
    )
    message = sent_message(make_digest(reader, papers))
    size = len(message.get_body(("html",)).get_content().encode())
    assert size < GMAIL_CLIP_BYTES, size

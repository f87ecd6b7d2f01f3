"""The subscribe form's paste box: each pasted line shown back with the paper it names, or why
none, before the sign-up goes ahead (a review step without JavaScript, a live JSON check with)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import DatabaseError

from accounts.models import Subscriber
from tests.helpers import subscribe

pytestmark = pytest.mark.usefixtures("fresh_cache")

UNKNOWN_ID_NOTE = (
    "arXiv id 2501.99999 is not in our library yet: it will be added if it appears in a listing"
)


@pytest.fixture
def papers(make_paper):
    return [
        make_paper(arxiv_id="2503.11731", title="Speculative Decoding at Scale"),
        make_paper(arxiv_id="2504.00002", title="Attention Is All You Need"),
    ]


def _reviewed(response) -> str:
    return re.search(r'name="seed_reviewed" id="id_seed_reviewed" value="(\w*)"', _html(response))[
        1
    ]


def _html(response) -> str:
    return response.content.decode()


def test_it_shows_each_pasted_line_and_asks_before_sending(client, papers):
    pasted = "arXiv:2503.11731v2\nattention is all you need\n\n2501.99999\nA Paper Nobody Wrote"
    response = subscribe(client, seed_references=pasted)
    assert response.status_code == 200
    html = _html(response)
    assert "Check the papers you pasted." in html
    assert "4 lines: 2 found, 2 not in our library yet." in html
    assert re.search(r"Line 1</span> <span class=\"line-text\">arXiv:2503.11731v2", html)
    assert "Speculative Decoding at Scale</a>" in html
    assert "Line 2" in html
    assert "Attention Is All You Need</a>" in html
    assert "Line 4" in html
    assert UNKNOWN_ID_NOTE in html
    assert "Line 5" in html
    assert "No paper with this title in our library yet" in html
    assert f">{pasted}</textarea>" in html
    assert not Subscriber.objects.exists()
    assert not mail.outbox

    again = subscribe(client, seed_references=pasted, seed_reviewed=_reviewed(response))
    assert again.status_code == 302
    profile = Subscriber.objects.get().profile
    assert profile.seed_references == [line for line in pasted.splitlines() if line]
    assert set(profile.seed_papers.all()) == set(papers)


def test_it_checks_an_edited_paste_again_and_sends_one_whose_lines_are_all_found(client, papers):
    reviewed = _reviewed(subscribe(client, seed_references="2501.99999"))
    edited = subscribe(
        client, seed_references="2501.99999\nNot A Title We Hold", seed_reviewed=reviewed
    )
    assert edited.status_code == 200
    assert "2 lines: 0 found, 2 not in our library yet." in _html(edited)
    assert not Subscriber.objects.exists()

    found = subscribe(client, seed_references="2503.11731\nAttention is all you need")
    assert found.status_code == 302
    assert set(Subscriber.objects.get().profile.seed_papers.all()) == set(papers)


def test_it_names_each_bad_line_by_its_number(client, papers):
    pasted = "2503.11731\n\n2513.12345\n" + "x" * 400 + "\nhttps://example.com/paper.pdf"
    response = subscribe(client, seed_references=pasted)
    assert response.status_code == 400
    html = _html(response)
    assert "Line 3: “2513.12345” is not an arXiv id or arXiv link. Use an id like" in html
    assert "Line 4: It is 400 characters long; a title or an arXiv id fits in 300." in html
    assert "Line 5: “https://example.com/paper.pdf” is not an arXiv id" in html
    assert "4 lines: 1 found, 3 not valid." in html
    assert "Speculative Decoding at Scale</a>" in html


def test_it_shows_the_paste_checked_beside_other_errors_and_then_needs_no_review(client, db):
    response = subscribe(client, email="ada@", seed_references="2501.99999")
    assert response.status_code == 400
    assert UNKNOWN_ID_NOTE in _html(response)
    fixed = subscribe(client, seed_references="2501.99999", seed_reviewed=_reviewed(response))
    assert fixed.status_code == 302
    assert Subscriber.objects.get().profile.seed_references == ["2501.99999"]


def test_it_says_how_big_a_paste_may_be(client, db):
    many = subscribe(client, seed_references="\n".join(f"2503.{n:05d}" for n in range(51)))
    assert "Up to 50 papers, one per line, please (this has 51)." in _html(many)
    huge = subscribe(client, seed_references="y" * 40_000)
    assert "That is 40,000 characters; up to 50 papers of at most 300 characters" in _html(huge)
    assert (many.status_code, huge.status_code) == (400, 400)


def test_it_checks_pasted_lines_live_and_skips_the_review_once_seen(client, papers):
    pasted = "2503.11731\n2501.99999\n2513.12345"
    response = client.post("/subscribe/check-papers", {"seed_references": pasted})
    assert response.status_code == 200
    data = response.json()
    assert data["summary"] == "3 lines: 1 found, 1 not in our library yet, 1 not valid."
    found, unknown, invalid = data["lines"]
    assert (found["line"], found["ok"], found["title"]) == (
        1,
        True,
        "Speculative Decoding at Scale",
    )
    assert found["url"] == "https://arxiv.org/abs/2503.11731"
    assert unknown["problem"].startswith(UNKNOWN_ID_NOTE)
    assert invalid["invalid"]
    assert "“2513.12345” is not an arXiv id" in invalid["problem"]

    sent = subscribe(
        client, seed_references="2501.99999", seed_reviewed=_live("2501.99999", client)
    )
    assert sent.status_code == 302
    assert Subscriber.objects.get().profile.seed_references == ["2501.99999"]


def _live(pasted: str, client) -> str:
    return client.post("/subscribe/check-papers", {"seed_references": pasted}).json()["fingerprint"]


def test_it_bounds_and_rate_limits_the_live_check(client, db, settings):
    settings.PREVIEW_LIMIT_PER_IP = 3
    too_long = client.post("/subscribe/check-papers", {"seed_references": "z" * 40_000})
    assert too_long.status_code == 400
    assert too_long.json()["error"].startswith("That is 40,000 characters")
    assert client.get("/subscribe/check-papers").status_code == 405
    answers = [client.post("/subscribe/check-papers", {"seed_references": "x1"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].json()["error"] == "Too many checks; slow down a little."


def test_it_signs_up_unchecked_when_the_database_cannot_answer(client, db, monkeypatch):
    def unavailable(text):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("accounts.paste_check.check_pasted", unavailable)
    response = subscribe(client, seed_references="2501.99999")
    assert response.status_code == 302
    assert Subscriber.objects.get().profile.seed_references == ["2501.99999"]

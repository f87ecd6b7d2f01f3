"""The admin's pages as staff use them, through Django's test client (the browser tests in
tests/browser/test_admin_console.py drive the same flows in Chromium)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from auditlog.models import LogEntry
from django.core import mail

from accounts.models import Subscriber
from recommender.models import DeliveryEvent, Digest, DigestItem, FeedbackEvent, Paper, Suppression
from tests.helpers import clear_local_cache

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser(
        "editor", "editor@example.org", "a-long-password-9"
    )
    client.force_login(user)
    return user


def action(client, url: str, name: str, pks, *, confirm: bool):
    data = {"action": name, "_selected_action": [str(pk) for pk in pks], "index": "0"}
    if confirm:
        data["confirmed"] = "yes"
    return client.post(url, data)


def test_it_asks_before_an_action_and_records_who_featured_a_paper(client, staff, make_paper):
    paper = make_paper(title="Speculative decoding at scale")
    url = "/admin/recommender/paper/"

    asking = action(client, url, "mark_featured", [paper.pk], confirm=False)
    paper.refresh_from_db()
    assert asking.status_code == 200
    assert "Feature these papers" in asking.text
    assert "Speculative decoding at scale" in asking.text
    assert paper.curation == Paper.Curation.NORMAL  # nothing happens before "yes"

    done = action(client, url, "mark_featured", [paper.pk], confirm=True)
    paper.refresh_from_db()
    assert done.status_code == 302
    assert paper.curation == Paper.Curation.FEATURED
    assert paper.curated_by == staff
    entry = LogEntry.objects.get_for_object(paper).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == staff
    assert entry.changes_dict["curation"] == ["normal", "featured"]


def test_it_shows_a_paper_with_readable_lists_its_readers_and_feedback(
    client, staff, make_paper, make_subscriber
):
    paper = make_paper(authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG", "cs.CL"])
    subscriber = make_subscriber("reader@example.com")
    digest = Digest.objects.create(
        subscriber=subscriber, period_start=date(2026, 7, 1), status=Digest.Status.SENT
    )
    item = DigestItem.objects.create(digest=digest, paper=paper, rank=3, score=0.5)
    FeedbackEvent.objects.create(subscriber=subscriber, paper=paper, kind="up", digest_item=item)

    page = client.get(f"/admin/recommender/paper/{paper.pk}/change/").text

    assert "Ada Lovelace\nAlan Turing</textarea>" in page
    assert "cs.LG\ncs.CL</textarea>" in page
    assert "reader@example.com</a>, digest of 2026-07-01 (sent), rank 3" in page
    assert "More like this: 1, Less like this: 0, Opened: 0" in page


def test_it_saves_lists_edited_one_item_per_line(client, staff, make_paper):
    paper = make_paper()
    page = client.get(f"/admin/recommender/paper/{paper.pk}/change/")
    form = page.context["adminform"].form
    values = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else value for name, value in values.items()}
    data.update(authors="Grace Hopper\n\n  Edsger Dijkstra  ", categories="cs.SE\ncs.PL")
    response = client.post(f"/admin/recommender/paper/{paper.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    paper.refresh_from_db()
    assert paper.authors == ["Grace Hopper", "Edsger Dijkstra"]
    assert paper.categories == ["cs.SE", "cs.PL"]


def test_it_finds_papers_by_author_title_and_any_spelling_of_the_arxiv_id(
    client, staff, make_paper
):
    make_paper(arxiv_id="2503.11731", title="Gaussian splatting", authors=["Zhang Wei"])
    make_paper(arxiv_id="2503.00002", title="Other things", authors=["Someone Else"])
    for term in ("zhang", "splatting", "2503.11731v2", "https://arxiv.org/abs/2503.11731"):
        page = client.get("/admin/recommender/paper/", {"q": term}).text
        assert "Gaussian splatting" in page, term
        assert "Other things" not in page, term


def test_it_filters_papers_by_source_and_sorts_by_trending(client, staff, make_paper):
    make_paper(title="From the dump", sources=["arxiv-dump"], upvotes=1)
    make_paper(title="From Hugging Face", sources=["hf-daily"], upvotes=90)
    make_paper(title="Quiet one", sources=["hf-daily"], upvotes=3)

    page = client.get("/admin/recommender/paper/", {"source": "hf-daily"}).text
    assert "From Hugging Face" in page
    assert "Quiet one" in page
    assert "From the dump" not in page

    changelist = client.get("/admin/recommender/paper/", {"o": "5"}).context["cl"]
    titles = [paper.title for paper in changelist.result_list]
    assert titles == ["From Hugging Face", "Quiet one", "From the dump"]


def test_sent_digests_are_read_only(client, staff, make_subscriber):
    digest = Digest.objects.create(
        subscriber=make_subscriber(), period_start=date(2026, 7, 1), status=Digest.Status.SENT
    )
    page = client.get(f"/admin/recommender/digest/{digest.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.text
    response = client.post(f"/admin/recommender/digest/{digest.pk}/change/", {"status": "built"})
    assert response.status_code == 403
    digest.refresh_from_db()
    assert digest.status == Digest.Status.SENT


def test_it_suppresses_and_reactivates_a_subscriber_and_logs_both(client, staff, make_subscriber):
    subscriber = make_subscriber("ada@example.org")
    url = "/admin/accounts/subscriber/"

    action(client, url, "suppress", [subscriber.pk], confirm=True)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUPPRESSED
    assert Suppression.objects.get(email="ada@example.org").reason == "manual"

    action(client, url, "reactivate", [subscriber.pk], confirm=True)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.next_digest_at is not None
    assert not Suppression.objects.exists()
    changes = [
        entry.changes_dict["status"]
        for entry in LogEntry.objects.get_for_object(subscriber).order_by("pk")
        if "status" in entry.changes_dict and entry.action == LogEntry.Action.UPDATE
    ]
    assert changes == [["active", "suppressed"], ["suppressed", "active"]]
    by_staff = client.get("/admin/auditlog/logentry/", {"actor": staff.pk})
    assert by_staff.status_code == 200
    assert "ada@example.org" in by_staff.text
    assert "Interests of ada@example.org" not in by_staff.text  # created at sign-up, not by staff
    by_no_one = client.get("/admin/auditlog/logentry/", {"actor": "none"}).text
    assert "Interests of ada@example.org" in by_no_one


def test_it_does_not_reactivate_someone_who_unsubscribed(client, staff, make_subscriber):
    subscriber = make_subscriber(status=Subscriber.Status.UNSUBSCRIBED)
    action(client, "/admin/accounts/subscriber/", "reactivate", [subscriber.pk], confirm=True)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_it_resends_the_confirmation_to_pending_subscribers_only(client, staff, make_subscriber):
    pending = make_subscriber("new@example.org", status=Subscriber.Status.PENDING)
    active = make_subscriber("old@example.org")
    action(
        client,
        "/admin/accounts/subscriber/",
        "resend_confirmation",
        [pending.pk, active.pk],
        confirm=True,
    )
    assert [message.to for message in mail.outbox] == [["new@example.org"]]
    assert "/confirm/" in mail.outbox[0].body


def test_it_deletes_a_subscriber_with_all_their_data(client, staff, make_subscriber):
    subscriber = make_subscriber("gone@example.org")
    Digest.objects.create(subscriber=subscriber, period_start=date(2026, 7, 1))
    DeliveryEvent.objects.create(kind="sent", email="gone@example.org")
    url = "/admin/accounts/subscriber/"

    assert "delete_selected" not in client.get(url).text
    action(client, url, "delete_with_all_data", [subscriber.pk], confirm=True)

    assert not Subscriber.objects.exists()
    assert not Digest.objects.exists()
    assert not DeliveryEvent.objects.exists()
    assert LogEntry.objects.filter(action=LogEntry.Action.DELETE, actor=staff).exists()


def test_the_subscriber_page_shows_consent_profile_feedback_and_digests(
    client, staff, make_subscriber, make_paper
):
    subscriber = make_subscriber(
        "ada@example.org", interests_text="speculative decoding", keywords=["LoRA", "MoE"]
    )
    Subscriber.objects.filter(pk=subscriber.pk).update(consent_ip="203.0.113.7")
    paper = make_paper(title="A liked paper")
    FeedbackEvent.objects.create(subscriber=subscriber, paper=paper, kind="up")
    Digest.objects.create(
        subscriber=subscriber, period_start=date(2026, 7, 1), status=Digest.Status.SENT
    )

    page = client.get(f"/admin/accounts/subscriber/{subscriber.pk}/change/").text

    assert "203.0.113.7" in page
    assert "speculative decoding" in page
    assert "LoRA<br>MoE" in page
    assert "More like this" in page
    assert "A liked paper" in page
    assert "2026-07-01</a>: Sent<br>" in page


def test_the_preview_renders_the_digest_email_and_sends_it_to_the_staff_member(
    client, staff, make_subscriber, make_paper
):
    subscriber = make_subscriber("ada@example.org")
    make_paper(title="Fresh paper with upvotes", upvotes=30)
    url = f"/admin/accounts/subscriber/{subscriber.pk}/preview/"

    page = client.get(url)
    html = page.context["email_html"]
    assert "Fresh paper with upvotes" in html
    assert "ada@example.org" in html  # the footer of the real template, addressed to them
    assert page.context["parts"][0].final == pytest.approx(
        page.context["parts"][0].trending
        + page.context["parts"][0].curation
        + page.context["parts"][0].age_tiebreak,
        abs=1e-6,
    )

    client.post(url)
    (message,) = mail.outbox
    assert message.to == ["editor@example.org"]
    assert message.subject.startswith("[Preview for ada@example.org] ")
    body = message.alternatives[0][0]
    assert "Fresh paper with upvotes" in body
    assert "/preferences/" not in body
    assert "/unsubscribe/" not in body


def test_the_preview_splits_relevance_into_its_parts(
    client, staff, make_subscriber, installed_model
):
    from recommender.ingestion import ingest
    from tests.helpers import SAMPLE_PAPERS

    ingest.ingest_path(SAMPLE_PAPERS)
    clear_local_cache()
    subscriber = make_subscriber("ada@example.org", interests_text="robot locomotion policies")

    parts = client.get(f"/admin/accounts/subscriber/{subscriber.pk}/preview/").context["parts"]

    assert parts
    for part in parts:
        assert part.relevance == pytest.approx(
            part.relevance_lsa
            + part.relevance_context
            + part.relevance_lexical
            + part.relevance_offset,
            abs=1e-5,
        )
        expected = part.relevance_weight * part.relevance + part.trending + part.curation
        assert part.final == pytest.approx(expected, abs=1e-4)
    assert any(part.relevance_context for part in parts)


def test_admin_lists_show_no_digest_score_with_sixteen_decimals(client, staff, make_subscriber):
    digest = Digest.objects.create(subscriber=make_subscriber(), period_start=date(2026, 7, 1))
    paper = Paper.objects.create(title="T", abstract="A", first_seen=date(2026, 7, 1))
    DigestItem.objects.create(digest=digest, paper=paper, rank=1, score=0.123456789012345)
    page = client.get(f"/admin/recommender/digest/{digest.pk}/change/").text
    assert "0.123" in page
    assert not re.search(r"0\.1234567", page)


def test_a_search_matching_very_many_papers_is_not_counted_to_the_end(
    client, staff, make_paper, monkeypatch
):
    from recommender.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    for n in range(5):
        make_paper(title=f"Diffusion model number {n}")
    make_paper(title="Something else")

    page = client.get("/admin/recommender/paper/", {"q": "diffusion"}).text
    assert "more than 3 results" in page
    assert "more than 3 papers" in page
    unfiltered = client.get("/admin/recommender/paper/").text
    assert "6 papers" in unfiltered

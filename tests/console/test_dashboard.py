"""The dashboard's figures (console/dashboard.py) and the page that draws them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Subscriber
from console import dashboard
from recommender.ingestion import fetch
from recommender.models import (
    DeliveryEvent,
    Digest,
    DigestItem,
    FeedbackEvent,
    IngestionRun,
    Suppression,
)
from tests.helpers import DUMP_SLICE

DAY = date(2026, 7, 1)
RANGE = dashboard.DayRange(DAY, DAY + timedelta(days=5))


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "e@example.org", "pw-long-9x")
    client.force_login(user)
    return user


def test_it_works_out_each_days_status_from_the_subscribers_timestamps(db):
    def day(n: int) -> datetime:
        return at(DAY + timedelta(days=n))

    Subscriber.objects.create(
        email="a@x.org",
        status="unsubscribed",
        created_at=day(0),
        confirmed_at=day(1),
        unsubscribed_at=day(3),
    )
    Subscriber.objects.create(email="b@x.org", status="pending", created_at=day(2))
    Subscriber.objects.create(
        email="c@x.org", status="suppressed", created_at=day(-9), confirmed_at=day(-9)
    )
    Suppression.objects.create(email="c@x.org", reason="bounce", created_at=day(4))

    series = dashboard.subscribers_by_status(RANGE)["series"]

    assert series["pending"] == [1, 0, 1, 1, 1, 1]
    assert series["active"] == [1, 2, 2, 1, 0, 0]
    assert series["unsubscribed"] == [0, 0, 0, 1, 1, 1]
    assert series["suppressed"] == [0, 0, 0, 0, 1, 1]


def test_it_counts_digests_per_day_by_status(make_subscriber):
    one, two = make_subscriber("one@x.org"), make_subscriber("two@x.org")
    Digest.objects.create(subscriber=one, period_start=DAY, status="sent")
    Digest.objects.create(subscriber=two, period_start=DAY, status="failed")
    Digest.objects.create(subscriber=one, period_start=DAY + timedelta(days=2), status="sent")
    Digest.objects.create(subscriber=two, period_start=DAY - timedelta(days=1), status="sent")

    result = dashboard.digests_by_status(RANGE)

    assert result["series"]["sent"] == [1, 0, 1, 0, 0, 0]
    assert result["series"]["failed"] == [1, 0, 0, 0, 0, 0]
    assert result["all"] == 3


def _events(kind: str, n: int, day: date = DAY) -> None:
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(kind=kind, email=f"{kind}{i}@x.org", occurred_at=at(day)) for i in range(n)
    )


def test_it_rates_complaints_and_bounces_against_the_providers_limits(db):
    _events("sent", 1000)
    _events("complained", 2)
    _events("bounced", 10)

    rates = dashboard.delivery_rates(RANGE)

    assert rates["complaint_rate"] == pytest.approx(0.002)
    assert rates["complaint_level"] == "over"  # above 0.1 %, below 0.3 %
    assert rates["bounce_rate"] == pytest.approx(0.01)
    assert rates["bounce_level"] == "ok"
    assert rates["complaint_daily"][0] == pytest.approx(0.002)
    assert rates["provider_feedback"] is True


def test_it_warns_when_complaints_come_close_to_the_target(db):
    _events("sent", 10_000)
    _events("complained", 9)  # 0.09 %
    assert dashboard.delivery_rates(RANGE)["complaint_level"] == "close"
    _events("complained", 25)  # 0.34 %
    assert dashboard.delivery_rates(RANGE)["complaint_level"] == "critical"


def test_it_says_when_no_provider_has_reported_anything(client, staff):
    _events("sent", 5)
    rates = dashboard.delivery_rates(RANGE)
    assert rates["provider_feedback"] is False
    assert rates["complaint_rate"] == 0
    page = client.get("/admin/dashboard/", {"start": "2026-07-01", "end": "2026-07-06"}).text
    assert "No provider feedback recorded yet" in page


def test_it_measures_click_through_and_feedback_per_sent_digest(make_subscriber, make_paper):
    paper = make_paper()
    items = []
    for n in range(4):
        digest = Digest.objects.create(
            subscriber=make_subscriber(f"r{n}@x.org"),
            period_start=DAY,
            status="sent",
            sent_at=at(DAY),
        )
        items.append(DigestItem.objects.create(digest=digest, paper=paper, rank=1, score=1))
    for item, kind in [(items[0], "click"), (items[0], "up"), (items[1], "down")]:
        FeedbackEvent.objects.create(
            subscriber=item.digest.subscriber, paper=paper, kind=kind, digest_item=item
        )

    result = dashboard.engagement(RANGE)

    assert result["sent"] == 4
    assert result["click_rate"] == pytest.approx(0.25)
    assert result["feedback_rate"] == pytest.approx(0.5)
    assert result["click_daily"][0] == pytest.approx(0.25)


def test_the_ingest_command_records_its_run_with_counts(db):
    call_command("ingest", str(DUMP_SLICE), "--json")

    run = IngestionRun.objects.get()
    assert (run.source, run.trigger, run.status) == ("arxiv-dump", "command", "ok")
    assert (run.created, run.updated, run.unchanged, run.rejected) == (40, 0, 0, 0)
    assert run.finished_at >= run.started_at
    assert run.label == DUMP_SLICE.name
    figures = dashboard.ingestion(dashboard.DayRange.last(1))
    assert figures["by_source"]["arxiv-dump"]["created"] == 40


def test_a_failed_fetch_is_recorded_as_a_failed_run(db, monkeypatch):
    from recommender.ingestion import ingest

    def refuse(*args, **kwargs):
        raise fetch.FetchError("the source answered 503")

    monkeypatch.setattr(fetch, "fetch_listing", refuse)
    with pytest.raises(fetch.FetchError):
        ingest.fetch_and_ingest("hf", day=DAY, trigger="beat")

    run = IngestionRun.objects.get()
    assert (run.source, run.trigger, run.status) == ("hf-daily", "beat", "failed")
    assert "503" in run.error


def test_the_model_card_has_the_fit_time_and_the_last_evaluation(make_paper, settings):
    from recommender.model import store
    from tests.helpers import FIXTURES

    settings.RECOMMENDER_MIN_CORPUS = 5
    for n in range(30):
        make_paper(title=f"Paper {n} about graphs and language models", abstract=f"words {n}")
    store.refit_from_corpus()
    call_command("evaluate", "--dataset", str(FIXTURES / "eval-dataset.json"), "--json")

    card, evaluation = dashboard.model_card().values()

    assert card["version"] == store.current_version()
    assert card["corpus_size"] == 30
    assert card["vocabulary_size"] > 0
    assert card["fit_seconds"] >= 0
    assert evaluation["dataset"] == "eval-dataset.json"
    assert 0 < evaluation["ndcg_at_10"] <= 1
    assert evaluation["profiles"] == 9


def test_the_dashboard_draws_its_charts_and_explains_empty_ones(client, staff, make_subscriber):
    make_subscriber("a@x.org")
    empty = client.get("/admin/dashboard/")
    assert empty.status_code == 200
    assert empty.text.count('<svg class="chart"') == 1  # subscribers only; everything else is empty
    assert "No digest in this range" in empty.text
    assert "No ingestion run in this range" in empty.text
    assert "No model is fitted" in empty.text

    call_command("ingest", str(DUMP_SLICE))
    subscriber = Subscriber.objects.get()
    Digest.objects.create(
        subscriber=subscriber,
        period_start=timezone.localdate(),
        status="sent",
        sent_at=timezone.now(),
    )
    _events("sent", 1, timezone.localdate())
    page = client.get("/admin/dashboard/", {"days": "7"}).text
    assert (
        page.count('<svg class="chart"') == 6
    )  # subscribers, digests, complaints, bounces, clicks, runs
    assert 'class="bar"' in page


def test_the_index_leads_to_the_dashboard_and_the_audit_log(client, staff):
    page = client.get("/admin/").text
    assert 'href="/admin/dashboard/"' in page
    assert 'href="/admin/auditlog/logentry/"' in page


def test_an_unreadable_range_falls_back_to_thirty_days(client, staff):
    page = client.get("/admin/dashboard/", {"start": "tomorrow", "days": "x"})
    assert page.context["range"].length == 30

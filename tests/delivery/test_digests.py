"""One digest per subscriber per period, built from new, visible, not-yet-sent papers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import InterestProfile
from recommender.delivery import digests
from recommender.models import Digest, DigestItem, Paper

MORNING = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def robotics_papers(make_paper):
    topics = [
        ("Robot grasping with diffusion policies", "Diffusion policies for robot grasping."),
        ("Legged robot locomotion on stairs", "Reinforcement learning for robot locomotion."),
        ("Sim-to-real transfer for robot arms", "Domain randomisation for robot manipulation."),
    ]
    return [
        make_paper(
            title=title, abstract=abstract, categories=["cs.RO"], first_seen=date(2026, 6, 30)
        )
        for title, abstract in topics
    ]


def test_it_builds_a_digest_of_new_papers_with_reasons(make_subscriber, robotics_papers):
    reader = make_subscriber(interests_text="robot learning", categories=["cs.RO"])

    digest, created = digests.build_digest(reader, moment=MORNING)

    assert created
    assert digest.status == Digest.Status.BUILT
    assert digest.period_start == date(2026, 7, 1)
    picked = {item.paper for item in digest.items.all()}
    assert picked == set(robotics_papers)
    assert all(item.reason for item in digest.items.all())


def test_it_returns_the_existing_digest_for_the_same_period(make_subscriber, robotics_papers):
    reader = make_subscriber(interests_text="robot learning", categories=["cs.RO"])
    first, _ = digests.build_digest(reader, moment=MORNING)

    again, created = digests.build_digest(reader, moment=MORNING.replace(hour=20))

    assert not created
    assert again.pk == first.pk
    assert Digest.objects.filter(subscriber=reader).count() == 1


def test_it_enforces_one_digest_per_period_in_the_database(make_subscriber):
    reader = make_subscriber()
    Digest.objects.create(subscriber=reader, period_start=date(2026, 7, 1))

    with pytest.raises(IntegrityError), transaction.atomic():
        Digest.objects.create(subscriber=reader, period_start=date(2026, 7, 1))


def test_it_never_includes_hidden_papers(make_subscriber, robotics_papers):
    hidden = robotics_papers[0]
    hidden.curation = Paper.Curation.HIDDEN
    hidden.save()
    reader = make_subscriber(interests_text="robot learning", categories=["cs.RO"])

    digest, _ = digests.build_digest(reader, moment=MORNING)

    assert hidden not in {item.paper for item in digest.items.all()}
    assert digest.items.count() == 2


def test_it_does_not_send_a_paper_twice(make_subscriber, robotics_papers):
    reader = make_subscriber(interests_text="robot learning", categories=["cs.RO"])
    digests.build_digest(reader, moment=MORNING)

    next_day, _ = digests.build_digest(reader, moment=MORNING.replace(day=2))

    assert next_day.items.count() == 0
    assert next_day.status == Digest.Status.SKIPPED
    assert DigestItem.objects.filter(digest__subscriber=reader).count() == 3


def test_it_only_considers_the_latest_listing_days(make_subscriber, make_paper):
    old = make_paper(
        title="Robot grasping, last month",
        abstract="robot grasping",
        categories=["cs.RO"],
        first_seen=date(2026, 6, 1),
    )
    new = make_paper(
        title="Robot grasping, today",
        abstract="robot grasping",
        categories=["cs.RO"],
        first_seen=date(2026, 6, 30),
    )
    reader = make_subscriber(interests_text="robot learning", categories=["cs.RO"])

    digest, _ = digests.build_digest(reader, moment=MORNING)

    assert [item.paper for item in digest.items.all()] == [new]
    assert old not in {item.paper for item in digest.items.all()}


@pytest.mark.parametrize(
    ("frequency", "zone", "moment", "expected"),
    [
        # 01:00 UTC on 1 July is still 30 June in New York.
        ("daily", "America/New_York", datetime(2026, 7, 1, 1, 0, tzinfo=UTC), date(2026, 6, 30)),
        ("daily", "Asia/Tokyo", datetime(2026, 6, 30, 20, 0, tzinfo=UTC), date(2026, 7, 1)),
        # Weekly digests key on the Monday of the local week (1 July 2026 is a Wednesday).
        ("weekly", "UTC", datetime(2026, 7, 1, 9, 0, tzinfo=UTC), date(2026, 6, 29)),
    ],
)
def test_it_keys_periods_on_the_subscribers_local_calendar(frequency, zone, moment, expected):
    profile = InterestProfile(frequency=frequency, timezone=zone)

    assert digests.period_start_for(profile, moment) == expected

"""Which recent papers are open to each reader of a batch: those inside the reader's lookback
window (counted back from the newest paper) that no digest of theirs has listed before."""

from __future__ import annotations

import random
from datetime import date, timedelta

from accounts.models import Subscriber
from recommender.models import Digest, DigestItem
from recommender.ranking.candidates import candidate_window

NEWEST = date(2026, 6, 30)


def test_each_reader_gets_the_papers_of_their_window_they_have_not_received(
    make_paper, make_subscriber, settings
):
    rng = random.Random(11)
    papers = [
        make_paper(title=f"Paper {n}", first_seen=NEWEST - timedelta(days=rng.randint(0, 9)))
        for n in range(40)
    ]
    papers.append(make_paper(title="The newest", first_seen=NEWEST))
    readers = [
        make_subscriber(f"r{n}@example.com", frequency="weekly" if n % 3 == 0 else "daily")
        for n in range(9)
    ]
    received: dict[int, set[int]] = {}
    for n, reader in enumerate(readers):
        if n % 2:  # some readers had digests before, listing some of these papers
            digest = Digest.objects.create(subscriber=reader, period_start=date(2026, 6, 1 + n))
            listed = rng.sample(papers, 6)
            for rank, paper in enumerate(listed, start=1):
                DigestItem.objects.create(digest=digest, paper=paper, rank=rank, score=0.5)
            received[reader.pk] = {p.pk for p in listed}
    readers = list(Subscriber.objects.filter(pk__in=[r.pk for r in readers]).order_by("pk"))

    candidates, allowed = candidate_window(readers)

    assert max(p.first_seen for p in candidates) == NEWEST
    for reader, mask in zip(readers, allowed, strict=True):
        lookback = settings.DIGEST_LOOKBACK_DAYS[reader.profile.frequency]
        expected = [
            p.first_seen > NEWEST - timedelta(days=lookback)
            and p.pk not in received.get(reader.pk, set())
            for p in candidates
        ]
        assert mask.tolist() == expected
    assert any(not m.all() for m in allowed)  # some papers are closed to someone
    assert any(m.any() for m in allowed)


def test_no_recent_papers_leave_every_reader_an_empty_window(make_subscriber):
    readers = [make_subscriber("a@example.com"), make_subscriber("b@example.com")]
    candidates, allowed = candidate_window(readers)
    assert candidates == []
    assert [m.tolist() for m in allowed] == [[], []]

"""Where a digest's worker time goes: one chunk of subscribers built and sent on the embedded
default (SQLite, the bundled sample papers, emails written as files), under cProfile.

    .venv/bin/python bench/digest_cost.py [--subscribers 200] [--rounds 5] [--top 25]

Prints the CPU per digest and the share of the chunk's time spent ranking (profiles, scores,
selection, explanations: sending.rank_chunk), writing the ledger rows (digests.open_digests
creates the chunk's PENDING rows, digests.fill_digests stores their papers) and delivering
(sending._send: claiming the digest with the may-we-mail check, rendering the email, signing its
links, writing it), with the profiler's own overhead spread over all of them. Interest texts are
titles of the stored papers; profiles are not cached (the cold case after a nightly refit).
Works in a temporary directory; nothing of the project's var/ is touched.

Then, without the profiler, it renders one more digest per subscriber, over one day's papers
(the 300 newest, popular ones in many digests, as rankings share their top papers), `--rounds`
times in turn each way: the plain way (every template per email, every link signed on its own:
digest_email.template_context and make_message's templates), in bulk (a fresh
digest_email.DigestRenderer per round, as per chunk, so making its paper blocks counts) and in
bulk with one renderer kept across rounds (what each email adds once the blocks exist); and as
sending.send_one does it now (the bulk context, then make_message renders the frame's
templates and inlines the whole email's CSS). The floor is escaping the same content (titles,
reasons, abstracts, authors, links) into one string. It prints CPU ms per digest for each
(median of the rounds) and the ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=0, help="also list the N costliest functions")
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith(("DATABASE_", "REDIS_", "EMAIL_"))]:
        del os.environ[name]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "digest_site.settings",
            "DIGEST_VAR_DIR": tempfile.mkdtemp(prefix="digest-cost-"),
            "PROFILE_CACHE_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import InterestProfile, Subscriber
    from recommender.delivery import sending
    from recommender.model import store as model_store
    from recommender.models import Paper
    from recommender.ranking.evaluation import BUNDLED_SAMPLE

    call_command("migrate", verbosity=0)
    call_command("ingest", str(BUNDLED_SAMPLE), verbosity=0)
    model_store.refit_from_corpus()
    rng = random.Random(0)
    titles = list(Paper.objects.values_list("title", flat=True))
    now = timezone.now()
    created = Subscriber.objects.bulk_create(
        Subscriber(email=f"r{i}@example.org", status="active", confirmed_at=now, next_digest_at=now)
        for i in range(args.subscribers)
    )
    InterestProfile.objects.bulk_create(
        InterestProfile(subscriber=s, interests_text=rng.choice(titles)) for s in created
    )
    subscribers = list(Subscriber.objects.select_related("profile"))

    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    counts = sending.build_and_send(subscribers, moment=timezone.now())
    profiler.disable()
    cpu = time.process_time() - cpu

    stats = pstats.Stats(profiler).stats
    total = sum(row[3] for key, row in stats.items() if key[2] == "build_and_send")

    def share(filename: str, function: str) -> float:
        return (
            sum(
                row[3]
                for key, row in stats.items()
                if key[0].endswith(filename) and key[2] == function
            )
            / total
        )

    print(f"{counts}; {1000 * cpu / len(subscribers):.1f} ms of CPU per digest under cProfile")
    for label, filename, function in (
        ("ranking (sending.rank_chunk)", "sending.py", "rank_chunk"),
        ("ledger rows (digests.open_digests)", "digests.py", "open_digests"),
        ("digest rows (digests.fill_digests)", "digests.py", "fill_digests"),
        ("delivery (sending._send)", "sending.py", "_send"),
        ("  of which the claim", "ledger.py", "claim_for_sending"),
        ("  of which handing it to the backend", "session.py", "send"),
        ("  of which rendering the email", "messages.py", "make_message"),
        ("  of which the paper blocks", "paper_block.py", "render_paper"),
        ("    of which inlining the CSS", "messages.py", "inline_css"),
        ("  of which signing feedback links", "feedback.py", "feedback_url"),
    ):
        print(f"{label:40} {100 * share(filename, function):5.1f} %")
    if args.top:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    compare_rendering(args.rounds)


def compare_rendering(rounds: int) -> None:
    """Render one digest per subscriber over one day's papers the plain way and in bulk,
    alternating; print CPU ms per digest."""
    import html

    from digest_site.mailing.messages import render_email
    from recommender.delivery import digest_email

    digests = day_digests()
    emails = [digest_email.render_digest(d, items, d.subscriber) for d, items in digests]

    def plain() -> None:
        for digest, items in digests:
            render_email("digest", digest_email.template_context(digest, items, digest.subscriber))

    def bulk() -> None:
        renderer = digest_email.DigestRenderer()  # fresh, as per chunk: its blocks count
        for digest, items in digests:
            renderer.render(digest, items, digest.subscriber)

    def context() -> None:  # what sending.send_one does: the context, then make_message
        renderer = digest_email.DigestRenderer()
        for digest, items in digests:
            render_email("digest", renderer.context(digest, items, digest.subscriber))

    warm_renderer = digest_email.DigestRenderer()

    def warm() -> None:  # the same renderer every round: what each email adds to its chunk
        for digest, items in digests:
            warm_renderer.render(digest, items, digest.subscriber)

    def floor() -> None:
        for (digest, items), email in zip(digests, emails, strict=True):
            parts = [digest.subscriber.email, digest.note]
            for item in items:
                paper = item.paper
                parts += [paper.title, item.reason, paper.abstract, ", ".join(paper.authors)]
            parts += re.findall(r"https?://\S+", email.text)
            html.escape("\n".join(parts))

    runs = {"plain": plain, "context": context, "bulk": bulk, "warm": warm, "floor": floor}
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            # CPU time of this process: the machine is shared, wall time waits for others.
            start = time.process_time()
            run()
            timings[name].append(1000 * (time.process_time() - start) / len(digests))
    ms = {name: statistics.median(values) for name, values in timings.items()}
    papers = {item.paper_id for _digest, items in digests for item in items}
    print(
        f"rendering {len(digests)} digests over one day's {len(papers)} papers, {rounds} rounds "
        "(median CPU ms per digest):"
    )
    print(f"  plain (templates per email, links one by one)  {ms['plain']:6.2f} ms")
    print(f"  bulk context, frame by templates (send_one)     {ms['context']:6.2f} ms")
    print(f"  bulk (DigestRenderer, fresh per round)          {ms['bulk']:6.2f} ms")
    print(f"    of which per email (blocks already made)      {ms['warm']:6.2f} ms")
    print(f"  floor (escaping the same content)               {ms['floor']:6.2f} ms")
    ratio = ms["plain"] / ms["bulk"]
    print(f"  plain/bulk {ratio:.1f}x; bulk/floor {ms['bulk'] / ms['floor']:.1f}x")


def day_digests(*, day_papers: int = 300, size: int = 10) -> list:
    """One digest per subscriber for tomorrow, `size` papers each from the `day_papers` newest,
    popular ones in many digests (as rankings share their top papers); the reasons, notes,
    trending fallbacks and short digests vary as the real ones do."""
    from accounts.models import Subscriber
    from recommender.models import Digest, DigestItem, Paper

    rng = random.Random(1)
    pool = list(Paper.objects.order_by("-first_seen", "pk")[:day_papers])
    weights = [1 / (rank + 10) for rank in range(len(pool))]
    digests = []
    readers = Subscriber.objects.select_related("profile").order_by("pk")
    for number, subscriber in enumerate(readers):
        trending = number % 17 == 0
        short = number % 5 == 0
        digest = Digest.objects.create(
            subscriber=subscriber,
            period_start=date.today() + timedelta(days=1),
            ranker="trending-fallback" if trending else "model-v1",
            note="Unknown seed paper: 2401.99999" if number % 7 == 0 else "",
        )
        chosen: list = []
        while len(chosen) < (3 if short else size):
            paper = rng.choices(pool, weights)[0]
            if paper not in chosen:
                chosen.append(paper)
        DigestItem.objects.bulk_create(
            DigestItem(
                digest=digest,
                paper=paper,
                rank=rank,
                score=1 - rank / 100,
                reason=f"matches: {rng.choice(paper.title.split())}, close to a paper you liked",
            )
            for rank, paper in enumerate(chosen, start=1)
        )
        digests.append(digest)
    rows = Digest.objects.filter(pk__in=[d.pk for d in digests]).select_related(
        "subscriber__profile"
    )
    return [(d, list(d.items.select_related("paper").order_by("rank"))) for d in rows]


if __name__ == "__main__":
    main()

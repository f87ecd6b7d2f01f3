"""Where a digest's worker time goes: one chunk of subscribers built and sent on the embedded
default (SQLite, the bundled sample papers, emails written as files), under cProfile.

    .venv/bin/python bench/digest_cost.py [--subscribers 200]

Prints the CPU per digest and the share of the chunk's time spent ranking (profiles, scores,
selection, explanations: sending.rank_chunk), writing the ledger rows (digests.open_digests
creates the chunk's PENDING rows, digests.fill_digest stores each one's papers) and delivering
(sending.send_one: claiming the digest, the may-we-mail check, rendering the email, signing its
links, writing it), with the profiler's own overhead spread over all of them. Interest texts are
titles of the stored papers; profiles are not cached (the cold case after a nightly refit).
Works in a temporary directory; nothing of the project's var/ is touched.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
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
    from recommender.management.commands.demo import SAMPLE_PAPERS
    from recommender.model import store as model_store
    from recommender.models import Paper

    call_command("migrate", verbosity=0)
    call_command("ingest", str(SAMPLE_PAPERS), verbosity=0)
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
        ("digest rows (digests.fill_digest)", "digests.py", "fill_digest"),
        ("delivery (sending.send_one)", "sending.py", "send_one"),
        ("  of which rendering the email", "messages.py", "make_message"),
        ("  of which the paper blocks", "digest_email.py", "render_paper"),
        ("    of which inlining the CSS", "messages.py", "inline_css"),
        ("  of which signing feedback links", "feedback.py", "feedback_url"),
    ):
        print(f"{label:40} {100 * share(filename, function):5.1f} %")


if __name__ == "__main__":
    main()

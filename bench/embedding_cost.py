"""What the optional sentence-embedding part costs a worker: memory, and CPU per paper.

Needs the extra (`make embeddings`) and RECOMMENDER_EMBEDDINGS=minilm. Measured in one run:

* the floor: the default pipeline's rows for one day's papers (TF-IDF, LSA and word-context
  rows, ranking.candidates.paper_vectors with its cache cleared), with a model fitted on the
  newest --fit-papers stored papers before the day;
* the extra: the same papers embedded (embeddings.embed with its memo cleared and no shared
  cache: what the first process to see a day's papers pays);
* alternated over --rounds, CPU time per paper and the ratio of the two;
* the encoder's load: wall time and the growth of the process' resident memory (what each
  Celery worker process that ranks pays once), and the reference sample's embedding at a refit,
  extrapolated from the per-paper time.

    RECOMMENDER_EMBEDDINGS=minilm .venv/bin/python bench/embedding_cost.py   # ~3 min
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

from django.conf import settings
from django.test.utils import override_settings

from bench import dump
from bench.dump import clean
from recommender.model import embeddings, features
from recommender.models import Paper
from recommender.ranking import candidates


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--day", default="2026-06-05")
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--fit-papers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not embeddings.enabled() or embeddings.check_available():
        raise SystemExit(
            embeddings.check_available() or "set RECOMMENDER_EMBEDDINGS=minilm to measure it"
        )

    records = dump.load(args.data)
    before = [r for r in records if r["first_seen"] < args.day][-args.fit_papers :]
    day = [r for r in records if r["first_seen"] == args.day][: args.papers]
    # (Ranking needs only the text of a paper here, and a key: its arXiv id.)
    papers = [
        Paper(arxiv_id=r["id"], title=clean(r["title"]), abstract=clean(r["summary"])) for r in day
    ]
    texts = [embeddings.paper_text(p.title, p.abstract) for p in papers]
    # The encoder first, in a process that has not loaded it yet.
    resident = rss_mib()
    started = time.monotonic()
    embeddings.embed(["a first text loads the encoder"])
    load_seconds = time.monotonic() - started
    load_mib = rss_mib() - resident
    # The floor's model without the extra's reference embeddings (timed below, per paper).
    settings.RECOMMENDER_EMBEDDINGS = ""
    started = time.monotonic()
    model = dump.fit(before, components=features.SVD_COMPONENTS)
    print(f"fitted {features.describe(model)} in {time.monotonic() - started:.0f} s", flush=True)
    settings.RECOMMENDER_EMBEDDINGS = embeddings.MINILM

    floor, extra = [], []
    # No shared cache while timing: every round must encode (the cost of the first process to
    # see a day's papers; the others read them from the cache).
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=dummy):
        for _ in range(args.rounds):
            candidates._vectors.clear()
            cpu = time.process_time()
            candidates.paper_vectors(model, papers)
            floor.append((time.process_time() - cpu) / len(papers))
            embeddings.memo_items().clear()
            cpu = time.process_time()
            embeddings.embed(texts)
            extra.append((time.process_time() - cpu) / len(papers))
    per_floor, per_extra = min(floor), min(extra)
    print()
    print(f"{len(papers)} papers of {args.day}, CPU per paper (best of {args.rounds} alternated)")
    print(f"  floor: the default pipeline's rows   {per_floor * 1e3:8.2f} ms")
    print(
        f"  the sentence embedding                {per_extra * 1e3:8.2f} ms "
        f"({per_extra / per_floor:.0f}x the floor)"
    )
    print(
        f"  a day's {len(papers)} papers, by the first process to rank them (the others read "
        f"the shared cache): {per_extra * len(papers):.0f} s"
    )
    reference = features.REFERENCE_PAPERS
    print(f"  the reference sample at a refit ({reference} papers): {per_extra * reference:.0f} s")
    print(f"encoder load: {load_seconds:.1f} s, resident memory +{load_mib:.0f} MiB per process")


if __name__ == "__main__":
    main()

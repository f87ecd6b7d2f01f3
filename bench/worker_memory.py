"""Memory of a digest worker: the current model loaded, one chunk's profiles built and ranked.

    .venv/bin/python bench/worker_memory.py [--chunk 500] [--day 2026-06-05]
                                            [--models /tmp/speed-cache/models]

What one Celery pool child holds while it sends digests: glibc's malloc set as a pool child
sets it when it starts (digest_site.celery.return_freed_memory; --default-malloc leaves it), the
model loaded through
recommender.model.store (as the tasks load it), then one chunk of --chunk subscribers' profiles
built with recommender.model.profiles.build_profile under one BLAS thread (as
ranking/subscriber_profiles.profiles_for builds them; --blas-threads 2 for the library default
on this machine) and ranked against the day's papers with
recommender.ranking.subscribers.rank_built (the chunk path after the profiles are built).

The model is the production fit on the shared dump up to --day, read from --models (a model
directory: `current` plus the artifact). When that directory has no model, it is fitted first in
a separate process (features.fit_model on the full dump, 2-4 minutes) and stored there, so
later runs reuse it and the fit's own memory is not counted.

Subscribers are varied as in bench/delivery_throughput.py: interest texts from stored papers'
titles, a third with keywords, a fifth with an arXiv category, a tenth with five seed papers.
Only the records needed for them and the day's papers are kept from the dump (read line by
line), so the process holds little besides the model.

Prints RSS (VmRSS) after Django's setup, after the model load, after the chunk, the peak
(VmHWM), the chunk's RSS split into anonymous and file-backed pages with PSS and USS (pages
shared with other processes count fully in RSS, by share in PSS, not at all in USS), whether
scikit-learn was imported, the profiles' wall and CPU time, and the sizes of the model's dense
corpus matrices in each precision held.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dump

DEFAULT_MODELS = Path("/tmp/speed-cache/models")
MATRICES = ("corpus_matrix", "title_matrix", "context_matrix")


def log(message: str) -> None:
    print(message, flush=True)


def status_mib(field: str) -> float:
    """A VmRSS/VmHWM line of /proc/self/status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def smaps_mib(field: str) -> float:
    """A Pss/Private_* line of /proc/self/smaps_rollup, in MiB: the process' share of pages it
    shares with others (PSS), or the pages only it holds (USS = Private_Clean + Private_Dirty)."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def fit_into(models: Path, data: Path, day: str) -> None:
    """Fit the model on the dump up to `day` and store it in `models` (run in a child process)."""
    from django.conf import settings

    from recommender.model import store

    records = [r for r in dump.load(data) if r["first_seen"] <= day]
    started = time.perf_counter()
    model = dump.fit(records, components=settings.RECOMMENDER_SVD_COMPONENTS)
    store.save(model, fit_seconds=time.perf_counter() - started)
    log(f"fitted on {len(records)} papers in {time.perf_counter() - started:.0f} s")


def sample(data: Path, day: str, chunk: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(stored papers to make subscribers from, the day's papers), reading the dump line by line."""
    rng = random.Random(seed)
    kept: list[dict] = []
    seen = 0
    papers: list[dict] = []
    wanted = chunk * 7  # a title each, plus seeds for a tenth
    with gzip.open(data, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["first_seen"] == day:
                papers.append(record)
            elif record["first_seen"] < day:  # reservoir sample of the stored papers
                seen += 1
                if len(kept) < wanted:
                    kept.append(record)
                elif (slot := rng.randrange(seen)) < wanted:
                    kept[slot] = record
    return kept, papers


def specs(stored: list[dict], chunk: int, seed: int) -> list:
    from recommender.model.profiles import PaperDoc, ProfileSpec

    rng = random.Random(seed)
    result = []
    for i in range(chunk):
        record = stored[i]
        spec = ProfileSpec(text=dump.clean(record["title"]))
        if i % 3 == 0:
            words = dump.clean(stored[chunk + i]["title"]).split()
            spec.keywords = [" ".join(words[:2])]
        if i % 5 == 0:
            spec.categories = [record["categories"][0]]
        if i % 10 == 0:
            spec.seeds = [
                PaperDoc(
                    key=r["id"], title=dump.clean(r["title"]), abstract=dump.clean(r["summary"])
                )
                for r in rng.sample(stored[2 * chunk :], 5)
            ]
        result.append(spec)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--day", default="2026-06-05")
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads while profiles are built"
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's malloc as it is (a pool child calls return_freed_memory at start)",
    )
    parser.add_argument("--fit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dump-picks", type=Path, help="write every pick (paper, score, reason) as JSON here"
    )
    args = parser.parse_args()
    os.environ["RECOMMENDER_MODEL_DIR"] = str(args.models)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")
    import django

    django.setup()
    from digest_site.celery import return_freed_memory

    if not args.default_malloc:  # as every pool child does when it starts (worker_process_init)
        return_freed_memory()
    if args.fit:
        return fit_into(args.models, args.data, args.day)
    if not (args.models / "current").exists():
        log(f"no model in {args.models}: fitting one on the dump up to {args.day}")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--fit",
                "--day",
                args.day,
                "--data",
                str(args.data),
                "--models",
                str(args.models),
            ],
            check=True,
        )

    import numpy as np
    from django.conf import settings
    from threadpoolctl import threadpool_limits

    from recommender.model import profiles, store
    from recommender.models import Paper
    from recommender.ranking.candidates import prepare_candidates
    from recommender.ranking.subscribers import rank_built

    stored, day_papers = sample(args.data, args.day, args.chunk, seed=1)
    chunk_specs = specs(stored, args.chunk, seed=2)
    candidates = [
        Paper(
            pk=i + 1,
            arxiv_id=r["id"],
            title=dump.clean(r["title"]),
            abstract=dump.clean(r["summary"]),
            categories=r["categories"],
            first_seen=date.fromisoformat(r["first_seen"]),
        )
        for i, r in enumerate(day_papers)
    ]
    stored = day_papers = None
    setup_rss = status_mib("VmRSS")
    log(f"after setup (Django, {args.chunk} specs, {len(candidates)} papers): {setup_rss:.0f} MiB")

    started = time.perf_counter()
    model = store.load_current()
    load_rss = status_mib("VmRSS")
    log(
        f"after model load ({model.version}): {load_rss:.0f} MiB, "
        f"{time.perf_counter() - started:.1f} s"
    )

    started, cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        built = [profiles.build_profile(model, spec) for spec in chunk_specs]
    build_s, build_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    batch = prepare_candidates(candidates, model)
    results = rank_built(
        model, built, batch, limit=settings.DIGEST_MAX_ITEMS, allowed=[None] * len(built)
    )
    rank_s = time.perf_counter() - started
    chunk_rss = status_mib("VmRSS")
    picks = sum(len(r.picks) for r in results)
    if args.dump_picks:
        # Every pick with its exact score and reason: two trees that must give the same numbers
        # are compared by comparing these files.
        rows = [
            [[p.paper.arxiv_id, repr(p.score), p.reason, p.matched] for p in r.picks] + r.messages
            for r in results
        ]
        args.dump_picks.write_text(json.dumps(rows, indent=0))
    log(
        f"after one chunk ({len(built)} profiles in {build_s:.1f} s, {build_cpu:.1f} s CPU, "
        f"ranked in {rank_s:.2f} s, "
        f"{picks} picks): {chunk_rss:.0f} MiB"
    )
    peak = status_mib("VmHWM")
    log(f"peak: {peak:.0f} MiB")
    anon, file = status_mib("RssAnon"), status_mib("RssFile")
    pss = smaps_mib("Pss")
    uss = smaps_mib("Private_Clean") + smaps_mib("Private_Dirty")
    log(
        f"after the chunk: RSS {chunk_rss:.0f} MiB = anonymous {anon:.0f} "
        f"+ file-backed {file:.0f}; "
        f"PSS {pss:.0f} MiB, USS {uss:.0f} MiB"
    )
    sklearn = "sklearn" in sys.modules
    log(f"scikit-learn imported: {'yes' if sklearn else 'no'}")

    # Arrays memory-mapped from the artifact (store.load_current) are counted apart: only the
    # pages read are resident, in the file-backed part of RSS above.
    held = {16: 0, 32: 0, "mapped": 0}
    for name in MATRICES:
        matrix = getattr(model, name, None)
        if isinstance(matrix, np.ndarray) and matrix.dtype in (np.float16, np.float32):
            mapped = isinstance(matrix, np.memmap) and matrix.filename is not None
            held["mapped" if mapped else matrix.dtype.itemsize * 8] += matrix.nbytes
    log(
        f"corpus matrices held: float16 {held[16] / 2**20:.0f} MiB, "
        f"float32 {held[32] / 2**20:.0f} MiB, memory-mapped {held['mapped'] / 2**20:.0f} MiB"
    )
    print(
        json.dumps(
            {
                "setup_mib": round(setup_rss),
                "load_mib": round(load_rss),
                "chunk_mib": round(chunk_rss),
                "peak_mib": round(peak),
                "anon_mib": round(anon),
                "file_mib": round(file),
                "pss_mib": round(pss),
                "uss_mib": round(uss),
                "sklearn_imported": sklearn,
                "float16_mib": round(held[16] / 2**20),
                "float32_mib": round(held[32] / 2**20),
                "mapped_mib": round(held["mapped"] / 2**20),
                "profiles_s": round(build_s, 2),
                "profiles_cpu_s": round(build_cpu, 2),
                "blas_threads": args.blas_threads,
                "default_malloc": args.default_malloc,
                "picks": picks,
            }
        )
    )


if __name__ == "__main__":
    main()

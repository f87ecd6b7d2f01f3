"""What the word-context space costs: the fit, the artifact, profile building, new papers' rows.

Each fit runs in a child process of its own (so its peak RSS is its own), with the space and
without it (features.fit_context_space skipped), alternated; the child with the space also times
building the 15 benchmark interest texts' profiles with the blend on and off (alternated, CPU
time) and the rows of one day's papers.

    .venv/bin/python bench/context_cost.py [--rounds 2] [--before 2026-06-01]   # ~10 min
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(space: str, before: str) -> dict:
    from bench import dump
    from bench import recommender_quality as quality  # sets Django up
    from recommender.model import features, profiles
    from recommender.ranking import candidates

    records = dump.load(dump.DEFAULT_DATA)
    train = [r for r in records if r["first_seen"] < before]
    if space == "without":
        features.fit_context_space = lambda *args: None
    wall, cpu = time.monotonic(), time.process_time()
    model = dump.fit(train, components=features.SVD_COMPONENTS)
    out = {
        "papers": len(train),
        "fit_wall_s": time.monotonic() - wall,
        "fit_cpu_s": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "artifact_mb": len(pickle.dumps(model)) / 1e6,
    }
    if space == "without":
        return out
    texts = [f"Papers on {name}" for name in quality.CATEGORIES.values()] * 20
    for share in (0.0, 0.4, 0.0, 0.4, 0.0, 0.4):
        cpu = time.process_time()
        for text in texts:
            spec = profiles.ProfileSpec(text=text)
            profiles.build_profile(model, spec, weights={"context": share})
        milliseconds = 1000 * (time.process_time() - cpu) / len(texts)
        out.setdefault(f"profile_ms_share_{share}", []).append(milliseconds)
    day = quality.Day(model, [r for r in records if r["first_seen"] == before][:300])
    cpu = time.process_time()
    for _ in range(5):
        candidates._vectors.clear()
        candidates.paper_vectors(model, day.papers)
    out["lsa_rows_ms"] = 1000 * (time.process_time() - cpu) / 5
    cpu = time.process_time()
    for _ in range(5):
        model.context_from_sparse(day.sparse)
    out["context_rows_ms"] = 1000 * (time.process_time() - cpu) / 5
    out["day_papers"] = len(day.ids)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", default="2026-06-01", help="fit on papers listed before")
    parser.add_argument("--child", choices=("with", "without"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.before)))
        return
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    for _ in range(args.rounds):
        for space in ("without", "with"):
            output = subprocess.run(
                [sys.executable, __file__, "--child", space, "--before", args.before],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[space].append(json.loads(output.strip().splitlines()[-1]))
            print(f"fit {space} the word-context space: {runs[space][-1]}", flush=True)

    def span(space: str, key: str) -> str:
        values = [run[key] for run in runs[space]]
        return f"{min(values):.0f}-{max(values):.0f}"

    papers = runs["with"][0]["papers"]
    print(f"\nFit on {papers:,} papers (rounds alternated; ranges over {args.rounds} rounds)")
    print(f"{'':<24} {'without':>12} {'with':>12} {'ratio':>7}")
    for key, label in (
        ("fit_wall_s", "fit wall (s)"),
        ("fit_cpu_s", "fit CPU (s)"),
        ("peak_rss_mb", "peak RSS (MB)"),
        ("artifact_mb", "artifact, pickled (MB)"),
    ):
        ratio = min(r[key] for r in runs["with"]) / min(r[key] for r in runs["without"])
        print(f"{label:<24} {span('without', key):>12} {span('with', key):>12} {ratio:6.2f}x")
    profile_off = [ms for run in runs["with"] for ms in run["profile_ms_share_0.0"]]
    profile_on = [ms for run in runs["with"] for ms in run["profile_ms_share_0.4"]]
    print(
        f"text profile build, CPU per profile: blend off {min(profile_off):.1f}-"
        f"{max(profile_off):.1f} ms, on {min(profile_on):.1f}-{max(profile_on):.1f} ms "
        f"({min(profile_on) / min(profile_off):.2f}x)"
    )
    day = runs["with"][0]
    print(
        f"rows of {day['day_papers']} new papers: TF-IDF + LSA {day['lsa_rows_ms']:.0f} ms, "
        f"word-context {day['context_rows_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()

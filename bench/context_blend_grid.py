"""How the word-context blend's three settings were chosen: a grid on the validation window.

The protocol of bench/recommender_quality.py (15 niche-category subscribers; text, sentence and
five-seed profiles; every day's new papers ranked; nDCG@10 over (subscriber, day) pairs with a
relevant paper), with relevance computed from the profile's scoring vector for every setting of

    PROFILE_CONTEXT_WEIGHT (share of the word-context cosine), PROFILE_CONTEXT_DOCS (nearest
    papers read in that space), PROFILE_CONTEXT_EXPANSION_WEIGHT (their weight next to the
    profile's own words and seeds; 100 is "neighbours only")

and the blend turned off (share 0: LSA alone). Settings are sorted by their mean over the three
profile kinds on the first window (May, the validation window); the other windows' figures of
the same setting follow, so a gain the validation window does not predict shows as one.

    .venv/bin/python bench/context_blend_grid.py                      # May, then June (~12 min)
    .venv/bin/python bench/context_blend_grid.py --windows 2026-02-01:2026-02-14 ...
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dump
from bench import recommender_quality as quality
from recommender.model import (
    features,
    profiles,
)
from recommender.ranking.evaluation import ndcg_at_k

SHARES = (0.3, 0.4, 0.5)
DOCS = (20, 50, 100)
EXPANSION = (1.0, 2.0, 100.0)
KINDS = ("text", "sentence", "seeds")


def settings_grid() -> list[tuple[float, int, float]]:
    return [(0.0, 0, 0.0), *product(SHARES, DOCS, EXPANSION)]


def run(records: list[dict], start: str, end: str) -> dict[tuple, dict[str, float]]:
    """{(share, docs, expansion): {profile kind: nDCG@10}} for one window."""
    train = [r for r in records if r["first_seen"] < start]
    test = [r for r in records if start <= r["first_seen"] <= end]
    t = time.monotonic()
    model = dump.fit(train, components=features.SVD_COMPONENTS)
    quality.log(f"{start}..{end}: fitted on {len(train)} papers in {time.monotonic() - t:.0f} s")
    by_day: dict[str, list[dict]] = defaultdict(list)
    for r in test:
        by_day[r["first_seen"]].append(r)
    days = [quality.Day(model, by_day[d]) for d in sorted(by_day)]
    categories = list(quality.CATEGORIES)
    _rows, seed_docs = quality.draw_seeds(train, categories, np.random.default_rng(0))
    results: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for cat in categories:
        specs = {
            "text": profiles.ProfileSpec(text=f"Papers on {quality.CATEGORIES[cat]}"),
            "sentence": profiles.ProfileSpec(text=quality.SENTENCES[cat]),
            "seeds": profiles.ProfileSpec(seeds=seed_docs[cat]),
        }
        known = {d.key for d in seed_docs[cat]}
        for setting in settings_grid():
            share, docs, expansion = setting
            weights = {"context": share, "context_docs": docs, "context_expansion": expansion}
            for kind, spec in specs.items():
                scoring = profiles.build_profile(model, spec, weights=weights).scoring
                exclude = known if kind == "seeds" else frozenset()
                for day in days:
                    relevant = day.relevant(cat)
                    if relevant:
                        ranked = quality.top_ids(day, day.scoring @ scoring, exclude)
                        results[setting][kind].append(ndcg_at_k(ranked, relevant, quality.K))
        quality.log(f"  {cat}: done")
    return {
        setting: {kind: float(np.mean(values)) for kind, values in by_kind.items()}
        for setting, by_kind in results.items()
    }


def label(setting: tuple[float, int, float]) -> str:
    share, docs, expansion = setting
    if share == 0:
        return "off (LSA alone)"
    neighbours = "neighbours only" if expansion >= 100 else f"expansion {expansion:g}"
    return f"share {share:g}, {docs} papers, {neighbours}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument(
        "--windows",
        nargs="+",
        default=["2026-05-01:2026-05-14", "2026-06-01:2026-06-14"],
        help="START:END of each window; the first one orders the settings",
    )
    parser.add_argument("--top", type=int, default=12, help="settings to print")
    args = parser.parse_args()
    records = dump.load(args.data)
    windows = [tuple(w.split(":")) for w in args.windows]
    figures = [run(records, start, end) for start, end in windows]
    first = figures[0]

    def mean(setting):
        return np.mean([first[setting][kind] for kind in KINDS])

    order = sorted(first, key=mean, reverse=True)
    off = (0.0, 0, 0.0)
    shown = [*order[: args.top], *([off] if off not in order[: args.top] else [])]
    quality.log("\nnDCG@10 (text / sentence / seeds) per window; sorted by the first window's mean")
    header = "  ".join(f"{start[5:]}..{end[5:]:<14}" for start, end in windows)
    quality.log(f"{'setting':<44} {'mean':>6}  {header}")
    for setting in shown:
        cells = "  ".join("/".join(f"{f[setting][kind]:.3f}" for kind in KINDS) for f in figures)
        quality.log(f"{label(setting):<44} {mean(setting):6.3f}  {cells}")


if __name__ == "__main__":
    main()

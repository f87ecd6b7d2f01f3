"""A second labelled set, from another day and another kind of listing: a saved Daily Papers page.

The topic set (bench/topic_quality.py) is one day of the arXiv stream, and every setting of the
recommender was chosen on it or on the category protocol. This set was labelled after the last
setting was chosen, and nothing is tuned on it: it is a test only.

* the papers are the 37 of ../shared/data/daily-papers-page-example.txt (a "Daily Papers" search
  page for "tensor", papers of 2019-2025), read by the project's page-text parser;
* 8 interests, each written as a keywords string and as a sentence, and the labels, are in
  bench/data/daily-page-topics.json, in `manage.py evaluate`'s dataset format (one profile per
  interest and mode: "<interest>-keywords", "<interest>-sentence"); how they were written and
  labelled is in docs/benchmarks.md ("A second labelled set: a saved Daily Papers page");
* ours is `manage.py evaluate`'s own path (recommender.ranking.evaluation.evaluate: the model
  fitted on the dataset plus the background, the digest ranking), by default on the bundled
  sample as `evaluate` does; `--background` takes other files (the stream dump: the production
  regime, ~5 min);
* baseline measured in the same run: plain TF-IDF cosine with the topic set's reference
  settings, fitted on the same papers.

    .venv/bin/python bench/page_topics.py                 # the bundled sample (~10 s)
    .venv/bin/python bench/page_topics.py --background \
        ../shared/data/arxiv-stream-2025-2026.jsonl.gz   # the stream (~6 min)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

import numpy as np
from django.conf import settings
from topic_quality import reference_vectorizer, summary

from recommender.ranking import evaluation
from recommender.ranking.evaluation import ndcg_at_k

DATASET = ROOT / "bench" / "data" / "daily-page-topics.json"
MODES = ("keywords", "sentence")


def log(message: str) -> None:
    print(message, flush=True)


def tfidf_reference(dataset, background) -> dict[str, float]:
    """Profile id -> nDCG@10 of plain TF-IDF cosine (the topic set's reference settings)."""
    vectorizer = reference_vectorizer()
    papers = dataset.papers
    texts = [f"{p['title']} {p.get('abstract') or ''}" for p in papers]
    texts += [f"{title} {abstract}" for _id, title, abstract, _cats in background]
    matrix = vectorizer.fit_transform(texts)[: len(papers)]
    ids = [p["id"] for p in papers]
    out = {}
    for profile in dataset.profiles:
        query = profile.get("text") or ", ".join(profile.get("keywords") or [])
        scores = np.asarray((matrix @ vectorizer.transform([query]).T).todense()).ravel()
        ranked = [ids[i] for i in np.argsort(-scores, kind="stable")]
        out[profile["id"]] = ndcg_at_k(ranked, dataset.relevant[profile["id"]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument(
        "--background",
        type=Path,
        nargs="+",
        default=[evaluation.BUNDLED_SAMPLE],
        help="papers the model is also fitted on (default: the bundled sample, as evaluate)",
    )
    parser.add_argument(
        "--profile-weights", type=json.loads, default={}, help="PROFILE_WEIGHTS overrides (JSON)"
    )
    args = parser.parse_args()
    # evaluate builds its profiles with the settings' weights.
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, **args.profile_weights}
    started = time.monotonic()
    dataset = evaluation.load_dataset(args.dataset)
    background, problems = evaluation.read_background(args.background)
    log(
        f"{len(dataset.papers)} papers, {len(dataset.profiles)} profiles; background "
        f"{len(background)} papers ({', '.join(p.name for p in args.background)}; "
        f"{len(problems)} rejected)"
    )
    report = evaluation.evaluate(dataset, background)
    ours = {result.id: result.ndcg_at_10 for result in report.results}
    reference = tfidf_reference(dataset, background)
    log(f"model fitted on {report.fit_papers} papers")
    log("")
    log("nDCG@10 (ours: evaluate's digest ranking; reference: plain TF-IDF cosine)")
    log(f"{'mode':<9} {'method':<12} {'mean':>6} {'worst':>6} {'<0.5':>5}  worst interest")
    interests = sorted({pid.rsplit("-", 1)[0] for pid in ours})
    for mode in MODES:
        for name, values in (("ours", ours), ("tfidf-cosine", reference)):
            chosen = {i: values[f"{i}-{mode}"] for i in interests if f"{i}-{mode}" in values}
            mean, worst, worst_id, below = summary(chosen, list(chosen))
            log(f"{mode:<9} {name:<12} {mean:6.3f} {worst:6.3f} {below:5d}  {worst_id}")
    log("")
    log(
        f"{'interest':<24} {'relevant':>8} {'key:ours':>9} {'key:tfidf':>9} "
        f"{'sen:ours':>9} {'sen:tfidf':>9}"
    )
    for interest in interests:
        relevant = len(dataset.relevant[f"{interest}-keywords"])
        row = [values[f"{interest}-{mode}"] for mode in MODES for values in (ours, reference)]
        log(f"{interest:<24} {relevant:8d}" + "".join(f" {v:9.3f}" for v in row))
    log(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

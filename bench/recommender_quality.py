"""Recommendation quality on real arXiv data: ours against baselines, in one run.

Protocol (README "Measured figures"):

* simulated subscribers = niche arXiv categories (not cs.CV/cs.CL/cs.AI/cs.LG); a paper is
  relevant to a subscriber when it carries the category;
* the model is fitted on the papers first listed before --start (nothing of the test days);
* each profile is built either from (a) a short interest text naming the field ("Papers on
  robotics": the category's arXiv name, never its code), (b) five seed papers listed before
  --start that carry the category, or (c) a sentence: the first sentence of arXiv's own
  description of the category (SENTENCES); category metadata is never a feature in (a)-(c);
* each day's new papers from --start to --end are ranked and P@10, nDCG@10 and recall@10 are
  averaged over (subscriber, day) pairs with at least one relevant paper; each nDCG@10 comes
  with a 95 % bootstrap interval over the subscribers (15 subscribers make a wide one);
* baselines measured in the same run: random, plain TF-IDF cosine, and arxiv-sanity-lite (one
  LinearSVC per subscriber, C=0.01, class_weight="balanced", seeds positive, every other
  training paper negative);
* feedback: a text subscriber likes the relevant papers of days 1-3 (and, in the "digest"
  variant, only those it was shown, thumbs-down on the others shown; in the "clicks" variant
  it only opens the relevant papers it was shown); measured on days 4+.

Ours goes through recommender.profiles.build_profile and recommender.ranking, the code real
subscribers go through. A separately labelled row shows the "categories" profile field, which
does use category metadata (the category centroid) and is not comparable.

    .venv/bin/python bench/recommender_quality.py            # full run, ~5 min on 2 cores
    .venv/bin/python bench/recommender_quality.py --quick    # smaller fit corpus, 5 subscribers
    .venv/bin/python bench/recommender_quality.py --model-cache /tmp/june.pkl   # fit once
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

from django.conf import settings
from sklearn.svm import LinearSVC

from bench import dump
from bench.dump import clean
from recommender.model import (
    features,
    profiles,
)
from recommender.ranking import (
    candidates,
    scoring,
)
from recommender.ranking.evaluation import ndcg_at_k, precision_at_k, recall_at_k

# Niche categories with 500-2,000 papers in the dump, with the names arXiv gives them.
CATEGORIES = {
    "cs.RO": "robotics",
    "cs.GR": "graphics",
    "cs.IT": "information theory",
    "eess.IV": "image and video processing",
    "cs.HC": "human-computer interaction",
    "cs.IR": "information retrieval",
    "cs.CY": "computers and society",
    "cs.MA": "multiagent systems",
    "cs.MM": "multimedia",
    "cs.GT": "computer science and game theory",
    "cs.CE": "computational engineering, finance, and science",
    "cs.CR": "cryptography and security",
    "cs.SD": "sound",
    "eess.AS": "audio and speech processing",
    "cs.SE": "software engineering",
}
# (c) the same subscribers writing a sentence instead: the first sentence of arXiv's own
# description of each category (where arXiv gives only an ACM class, that class's name), in
# the taxonomy page's wording as typed in here without network access, so small differences
# from the current page are possible; its filler ("Covers all aspects of ...") is kept on
# purpose: that is what the test is about.
SENTENCES = {
    "cs.RO": "Robotics.",
    "cs.GR": "Covers all aspects of computer graphics.",
    "cs.IT": "Covers theoretical and experimental aspects of information theory and coding.",
    "eess.IV": (
        "Theory, algorithms, and architectures for the formation, capture, processing, "
        "communication, analysis, and display of images, video, and multidimensional signals "
        "in a wide variety of applications."
    ),
    "cs.HC": "Covers human factors, user interfaces, and collaborative computing.",
    "cs.IR": "Covers indexing, dictionaries, retrieval, content and analysis.",
    "cs.CY": (
        "Covers impact of computers on society, computer ethics, information technology and "
        "public policy, legal aspects of computing, computers and education."
    ),
    "cs.MA": (
        "Covers multiagent systems, distributed artificial intelligence, intelligent agents, "
        "coordinated interactions, and practical applications."
    ),
    "cs.MM": "Multimedia information systems.",
    "cs.GT": (
        "Covers all theoretical and applied aspects at the intersection of computer science "
        "and game theory, including work in mechanism design, learning in games, foundations "
        "of agent modeling in games, coordination, specification and formal methods for "
        "non-cooperative computational environments."
    ),
    "cs.CE": (
        "Covers applications of computer science to the mathematical modeling of complex "
        "systems in the fields of science, engineering, and finance."
    ),
    "cs.CR": (
        "Covers all areas of cryptography and security including authentication, public key "
        "cryptosystems, proof-carrying code, etc."
    ),
    "cs.SD": "Covers all aspects of computing with sound, and sound as an information channel.",
    "eess.AS": (
        "Theory and methods for processing signals representing audio, speech, and language, "
        "and their applications."
    ),
    "cs.SE": (
        "Covers design tools, software metrics, testing and debugging, programming "
        "environments, etc."
    ),
}
CONDITIONS = ("text", "sentence", "seeds")
K = 10


def log(message: str) -> None:
    print(message, flush=True)


class Day:
    def __init__(self, model, records: list[dict]):
        self.ids = [r["id"] for r in records]
        self.categories = [set(r["categories"]) for r in records]
        self.sparse, self.dense = model.transform_papers(
            (clean(r["title"]), clean(r["summary"])) for r in records
        )
        self.scoring = model.scoring_rows(self.sparse, self.dense)
        self.papers = dump.papers(records)
        self.batch = None

    def relevant(self, category: str) -> set[str]:
        return {
            pid for pid, cats in zip(self.ids, self.categories, strict=True) if category in cats
        }


class Scores:
    """(condition, method) -> list of per (subscriber, day) metric triples, with who they are."""

    def __init__(self):
        self.rows: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
        self.subscribers: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(
        self, subscriber: str, condition: str, method: str, ranked: list[str], relevant: set[str]
    ) -> None:
        self.subscribers[(condition, method)].append(subscriber)
        self.rows[(condition, method)].append(
            (
                precision_at_k(ranked, relevant, K),
                ndcg_at_k(ranked, relevant, K),
                recall_at_k(ranked, relevant, K),
            )
        )

    def mean(self, condition: str, method: str) -> tuple[float, float, float, int]:
        values = np.array(self.rows[(condition, method)])
        return (*values.mean(axis=0), len(values))

    def ndcg_interval(
        self, condition: str, method: str, minus: str | None = None, draws: int = 2000
    ) -> tuple[float, float]:
        """95 % bootstrap interval of the mean nDCG@10 (of its difference from method `minus`
        on the same pairs, when given), resampling subscribers with all their days rather than
        pairs: one subscriber's days are not independent of each other."""
        ndcg = np.array([row[1] for row in self.rows[(condition, method)]])
        if minus is not None:
            ndcg = ndcg - np.array([row[1] for row in self.rows[(condition, minus)]])
        who = np.array(self.subscribers[(condition, method)])
        groups = [ndcg[who == name] for name in dict.fromkeys(who)]
        rng = np.random.default_rng(0)
        means = []
        for _ in range(draws):
            chosen = rng.integers(len(groups), size=len(groups))
            means.append(np.concatenate([groups[i] for i in chosen]).mean())
        low, high = np.percentile(means, [2.5, 97.5])
        return float(low), float(high)


def draw_seeds(train: list[dict], categories: list[str], rng) -> tuple[dict, dict]:
    """Five random fit papers of each category: (their rows in `train`, their PaperDocs)."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(train):
        for cat in set(r["categories"]):
            members[cat].append(i)
    seeds = {c: rng.choice(members[c], 5, replace=False).tolist() for c in categories}
    seed_docs = {
        c: [
            profiles.PaperDoc(train[i]["id"], clean(train[i]["title"]), clean(train[i]["summary"]))
            for i in seeds[c]
        ]
        for c in categories
    }
    return seeds, seed_docs


def top_ids(day: Day, scores: np.ndarray, exclude: set[str] = frozenset()) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    return [day.ids[i] for i in order if day.ids[i] not in exclude][:K]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--start", default="2026-06-01")
    parser.add_argument("--end", default="2026-06-14")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--components", type=int, default=features.SVD_COMPONENTS)
    parser.add_argument("--fit-max", type=int, default=0, help="fit on the newest N papers only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-svm", action="store_true", help="skip the arxiv-sanity baseline")
    parser.add_argument(
        "--model-cache",
        type=Path,
        help="pickle of the model fitted before --start (read if present, else written)",
    )
    parser.add_argument("--quick", action="store_true", help="5 subscribers, 20k fit papers")
    parser.add_argument(
        "--profile-weights", type=json.loads, default={}, help="PROFILE_WEIGHTS overrides (JSON)"
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
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, **args.profile_weights}
    if args.quick:
        args.categories = args.categories[:5]
        args.fit_max = args.fit_max or 20_000
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)

    records = dump.load(args.data)
    train = [r for r in records if r["first_seen"] < args.start]
    if args.fit_max:
        train = train[-args.fit_max :]
    test = [r for r in records if args.start <= r["first_seen"] <= args.end]
    log(
        f"{len(records)} papers: fit on {len(train)} before {args.start}, "
        f"rank {len(test)} new ones listed {args.start}..{args.end}"
    )

    t = time.monotonic()
    model = dump.fit_cached(train, components=args.components, cache=args.model_cache)
    fit_seconds = time.monotonic() - t
    log(f"fitted {features.describe(model)} in {fit_seconds:.0f} s")

    by_day: dict[str, list[dict]] = defaultdict(list)
    for r in test:
        by_day[r["first_seen"]].append(r)
    days = [Day(model, by_day[d]) for d in sorted(by_day)]
    for day in days:
        day.batch = candidates.prepare_candidates(day.papers, model)

    seeds, seed_docs = draw_seeds(train, args.categories, rng)
    texts = {c: f"Papers on {CATEGORIES[c]}" for c in args.categories}

    train_sparse = None
    if not args.no_svm:
        t = time.monotonic()
        train_sparse = model.sparse(
            [features.paper_text(clean(r["title"]), clean(r["summary"])) for r in train]
        )
        log(f"TF-IDF of the fit corpus for the SVM baseline: {time.monotonic() - t:.0f} s")

    scores = Scores()
    svm_seconds = []
    no_expansion = {
        "expansion": 0.0,
        "text_expansion": 0.0,
        "text_term_expansion": 0.0,
        "context": 0.0,
    }
    undamped = {"text_common_word_weight": 1.0}
    lsa_only = {"context": 0.0}
    for cat in args.categories:
        specs = {
            "text": profiles.ProfileSpec(text=texts[cat]),
            "sentence": profiles.ProfileSpec(text=SENTENCES[cat]),
            "seeds": profiles.ProfileSpec(seeds=seed_docs[cat]),
        }
        seed_ids = {d.key for d in seed_docs[cat]}
        built = {cond: profiles.build_profile(model, spec) for cond, spec in specs.items()}
        plain = {
            cond: profiles.build_profile(model, spec, weights=no_expansion)
            for cond, spec in specs.items()
        }
        common_kept = {
            cond: profiles.build_profile(model, specs[cond], weights=undamped)
            for cond in ("text", "sentence")
        }
        without_context = {
            cond: profiles.build_profile(model, spec, weights=lsa_only)
            for cond, spec in specs.items()
        }
        tfidf_queries = {
            **{
                cond: model.sparse([profiles.clean_interest_text(spec.text)]).toarray().ravel()
                for cond, spec in specs.items()
                if cond != "seeds"
            },
            "seeds": np.asarray(
                model.sparse(
                    [features.paper_text(d.title, d.abstract) for d in seed_docs[cat]]
                ).mean(axis=0)
            ).ravel(),
        }
        svm = None
        if train_sparse is not None:
            t = time.monotonic()
            y = np.zeros(train_sparse.shape[0])
            y[seeds[cat]] = 1
            svm = LinearSVC(C=0.01, class_weight="balanced", max_iter=10_000, tol=1e-6)
            svm.fit(train_sparse, y)
            svm_seconds.append(time.monotonic() - t)
        categories_profile = profiles.build_profile(model, profiles.ProfileSpec(categories=[cat]))
        for day in days:
            relevant = day.relevant(cat)
            if not relevant:
                continue
            for cond in CONDITIONS:
                scores.add(cat, cond, "random", top_ids(day, rng.random(len(day.ids))), relevant)
                q = tfidf_queries[cond]
                cosine = np.asarray(day.sparse @ q).ravel()
                scores.add(cat, cond, "tfidf-cosine", top_ids(day, cosine, seed_ids), relevant)
                lsa = day.scoring @ plain[cond].scoring
                scores.add(
                    cat, cond, "ours: LSA, no expansion", top_ids(day, lsa, seed_ids), relevant
                )
                if cond in common_kept:
                    kept = day.scoring @ common_kept[cond].scoring
                    scores.add(
                        cat, cond, "ours: common words undamped", top_ids(day, kept), relevant
                    )
                alone = day.scoring @ without_context[cond].scoring
                scores.add(
                    cat,
                    cond,
                    "ours: LSA only, no word-context",
                    top_ids(day, alone, seed_ids),
                    relevant,
                )
                semantic = day.scoring @ built[cond].scoring
                scores.add(
                    cat,
                    cond,
                    "ours: semantic part only",
                    top_ids(day, semantic, seed_ids),
                    relevant,
                )
                relevance = scoring.relevance_of(built[cond], day.batch)
                scores.add(
                    cat, cond, "ours: relevance", top_ids(day, relevance, seed_ids), relevant
                )
                digest = scoring.rank_profile(model, built[cond], day.batch, limit=K)
                scores.add(
                    cat,
                    cond,
                    "ours: digest ranking",
                    [p.paper.arxiv_id for p in digest.picks],
                    relevant,
                )
            if svm is not None:
                decision = svm.decision_function(day.sparse)
                scores.add(
                    cat, "seeds", "arxiv-sanity SVM", top_ids(day, decision, seed_ids), relevant
                )
            by_category = day.scoring @ categories_profile.scoring
            scores.add(
                cat, "categories*", "ours: category centroid", top_ids(day, by_category), relevant
            )
        log(f"  {cat}: done")

    feedback = feedback_gain(model, days, args.categories, texts)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(scores, feedback, svm_seconds, fit_seconds, peak_mb, time.monotonic() - started, args)


def feedback_gain(model, days: list[Day], categories: list[str], texts: dict) -> dict:
    """nDCG@10 on days 4+ for a text subscriber before and after feedback on days 1-3."""
    early, late = days[:3], days[3:]
    out = defaultdict(list)
    for cat in categories:
        base_spec = profiles.ProfileSpec(text=texts[cat])
        base = profiles.build_profile(model, base_spec)
        liked_all, liked_shown, disliked_shown = [], [], []
        for day in early:
            docs = {
                p.arxiv_id: profiles.PaperDoc(p.arxiv_id, p.title, p.abstract) for p in day.papers
            }
            relevant = day.relevant(cat)
            liked_all += [docs[pid] for pid in relevant]
            shown = scoring.rank_profile(model, base, day.batch, limit=K).picks
            for pick in shown:
                target = liked_shown if pick.paper.arxiv_id in relevant else disliked_shown
                target.append(docs[pick.paper.arxiv_id])
        variants = {
            "no feedback": base,
            "liked all relevant of days 1-3": profiles.build_profile(
                model, profiles.ProfileSpec(text=texts[cat], liked=liked_all)
            ),
            "digest thumbs up/down of days 1-3": profiles.build_profile(
                model,
                profiles.ProfileSpec(text=texts[cat], liked=liked_shown, disliked=disliked_shown),
            ),
            "digest clicks only, days 1-3": profiles.build_profile(
                model, profiles.ProfileSpec(text=texts[cat], clicked=liked_shown)
            ),
        }
        for day in late:
            relevant = day.relevant(cat)
            if not relevant:
                continue
            for name, prof in variants.items():
                ranked = scoring.rank_profile(model, prof, day.batch, limit=K).picks
                out[name].append(ndcg_at_k([p.paper.arxiv_id for p in ranked], relevant, K))
    return {name: (float(np.mean(values)), len(values)) for name, values in out.items()}


def report(scores, feedback, svm_seconds, fit_seconds, peak_mb, seconds, args) -> None:
    log("")
    log(
        f"Recommendation quality, {len(args.categories)} niche-category subscribers, "
        f"days {args.start}..{args.end}, K={K}"
    )
    log(
        f"{'condition':<12} {'method':<32} {'P@10':>6} {'nDCG@10':>8} {'R@10':>6} "
        f"{'pairs':>6} {'vs random':>10} {'vs tfidf':>9} {'nDCG 95% interval':>18}"
    )
    for cond in (*CONDITIONS, "categories*"):
        base_random = scores.mean(cond, "random")[1] if (cond, "random") in scores.rows else None
        base_tfidf = (
            scores.mean(cond, "tfidf-cosine")[1] if (cond, "tfidf-cosine") in scores.rows else None
        )
        for c, method in scores.rows:
            if c != cond:
                continue
            p, n, r, pairs = scores.mean(c, method)
            vs_random = f"{n / base_random:.1f}x" if base_random else "-"
            vs_tfidf = f"{n / base_tfidf:.2f}x" if base_tfidf else "-"
            low, high = scores.ndcg_interval(c, method)
            log(
                f"{c:<12} {method:<32} {p:6.3f} {n:8.3f} {r:6.3f} {pairs:6d} "
                f"{vs_random:>10} {vs_tfidf:>9} {f'{low:.3f}-{high:.3f}':>18}"
            )
    log("  nDCG 95% interval: bootstrap over the subscribers (each drawn with all its days)")
    # Paired: the same subscribers and days under both methods, so how hard a subscriber is
    # cancels out and the interval is much narrower than either method's own.
    for cond, method, minus in (
        ("text", "ours: relevance", "tfidf-cosine"),
        ("text", "ours: relevance", "ours: common words undamped"),
        ("sentence", "ours: relevance", "tfidf-cosine"),
        ("sentence", "ours: relevance", "ours: common words undamped"),
        ("seeds", "ours: relevance", "tfidf-cosine"),
        ("seeds", "ours: relevance", "arxiv-sanity SVM"),
        *((c, "ours: relevance", "ours: LSA only, no word-context") for c in CONDITIONS),
        *((c, "ours: relevance", "ours: semantic part only") for c in ("text", "sentence")),
    ):
        if (cond, method) in scores.rows and (cond, minus) in scores.rows:
            difference = scores.mean(cond, method)[1] - scores.mean(cond, minus)[1]
            low, high = scores.ndcg_interval(cond, method, minus)
            log(
                f"  {cond}: {method} minus {minus}: nDCG@10 {difference:+.3f}, "
                f"95% interval {low:+.3f} to {high:+.3f}"
            )
    log(
        "  * categories: the profile's category field (centroid of the category's training "
        "papers): uses category metadata, not comparable with the rows above"
    )
    log("")
    log("Feedback (text profiles), nDCG@10 on days 4+:")
    base = feedback.get("no feedback", (0, 0))[0]
    for name, (value, pairs) in feedback.items():
        gain = f"  ({value - base:+.3f})" if name != "no feedback" else ""
        log(f"  {name:<36} {value:.3f}  over {pairs} pairs{gain}")
    if svm_seconds:
        log(
            f"arxiv-sanity SVM: {np.mean(svm_seconds):.2f} s of training per subscriber "
            f"(median {np.median(svm_seconds):.2f} s)"
        )
    log(f"model fit {fit_seconds:.0f} s; total {seconds:.0f} s; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

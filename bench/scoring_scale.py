"""Scoring at scale: 100,000 subscribers against one day's 300 new papers, top 10 each.

Measured in one run, on the same matrices:

* floor (dense): the bare product of the profile matrix by the day's paper matrix;
* floor (sparse): the same with raw TF-IDF profiles (what a TF-IDF-only design would pay);
* ours: recommender.ranking's production path for a chunk: the semantic product, the lexical
  product (each profile's own terms, at most PROFILE_LEXICAL_MAX_TERMS, its rows stacked per
  chunk as production does, by the batch's present terms) and its terms outside the
  vocabulary looked up in the batch's index of them (12 a profile, as a sentence has), the
  per-profile
  calibration (model/relevance.combine), the trending/featured blend, eligibility masks (hidden,
  already received) and scoring.select_with_floor (the vectorised pinned-first MMR selection
  of the papers above each profile's floor, with near-duplicate removal, then the nearest
  others in rows with room left), over the subscribers in chunks of --chunk rows (the Celery
  task size), and the same with the optional sentence-embedding part (one more 384-d dense
  product per chunk; random unit vectors, since the cost does not depend on what they say);
* the arxiv-sanity-lite approach (one LinearSVC per subscriber on the TF-IDF corpus, C=0.01,
  class_weight="balanced"), timed on a sample and extrapolated to all subscribers.

Profiles are synthetic (the centroid of 5 random stored papers, like a seed-paper subscriber,
plus the lexical terms of two random stored papers' titles, as if typed as keywords): the cost of
scoring does not depend on what the vectors say. Explanations are built only for
the papers actually sent; their cost per chunk is reported separately.

    .venv/bin/python bench/scoring_scale.py                 # 100,000 subscribers
    .venv/bin/python bench/scoring_scale.py --subscribers 10000 --fit-papers 5000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

from django.conf import settings
from scipy import sparse
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from bench import dump
from bench.dump import clean
from recommender.model import (
    embeddings,
    features,
    lexical,
    profiles,
    query_shaping,
    relevance,
    stems,
)
from recommender.models import Paper
from recommender.ranking import (
    candidates,
    explanations,
    scoring,
)

# Typed terms outside the model's vocabulary per synthetic profile (a sentence has about this
# many: most of its two-word phrases).
UNSEEN_PER_PROFILE = 12


def log(message: str) -> None:
    print(message, flush=True)


def timed(fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=300, help="new papers of the day")
    parser.add_argument("--day", default="2026-06-05")
    parser.add_argument("--fit-papers", type=int, default=30_000, help="newest N papers to fit")
    parser.add_argument("--chunk", type=int, default=settings.DIGEST_CHUNK_SIZE)
    parser.add_argument("--svm-sample", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8, 32])
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    records = dump.load(args.data)
    before = [r for r in records if r["first_seen"] < args.day][-args.fit_papers :]
    day = [r for r in records if r["first_seen"] == args.day][: args.papers]
    if len(day) < args.papers:  # pad from the following days if the day is short
        day += [r for r in records if r["first_seen"] > args.day][: args.papers - len(day)]
    t = time.monotonic()
    model = dump.fit(before, components=settings.RECOMMENDER_SVD_COMPONENTS)
    log(
        f"fitted {features.describe(model)} on {len(before)} papers in {time.monotonic() - t:.0f} s"
    )

    papers = [
        Paper(
            pk=i + 1,
            arxiv_id=r["id"],
            title=clean(r["title"]),
            abstract=clean(r["summary"]),
            first_seen=date.fromisoformat(r["first_seen"]),
            upvotes=int(rng.poisson(2)),
            num_comments=int(rng.poisson(0.5)),
        )
        for i, r in enumerate(day)
    ]
    batch = candidates.prepare_candidates(papers, model)
    n, m = args.subscribers, len(papers)

    corpus = query_shaping.corpus32(model)
    picks = rng.integers(0, corpus.shape[0], size=(n, 5))
    profile_matrix = features.l2_normalise(corpus[picks].mean(axis=1)).astype(np.float32)
    if model.has_context:
        # Scoring vectors as profiles.scoring_vector makes them: both halves, scaled by share.
        share = settings.PROFILE_WEIGHTS["context"]
        rows = model.context_matrix.astype(np.float32)
        context = features.l2_normalise(sum(rows[picks[:, j]] for j in range(picks.shape[1])))
        profile_matrix = np.hstack([(1 - share) * profile_matrix, share * context])
    log(f"{n} synthetic profiles ({profile_matrix.shape[1]}-d), {m} papers of {args.day}")

    # Floor (dense): the bare product of the same matrices.
    dense_floor, _ = timed(lambda: profile_matrix @ batch.scoring.T)
    # The LSA half alone: what the product cost before the word-context blend (2026-11-30).
    lsa_profiles = np.ascontiguousarray(profile_matrix[:, : model.dim])
    lsa_floor, _ = timed(lambda: lsa_profiles @ batch.dense.T)
    lsa_profiles = None
    # Floor (sparse): raw TF-IDF profiles, each the mean of 5 papers' TF-IDF rows.
    corpus_sparse = model.sparse(
        [features.paper_text(clean(r["title"]), clean(r["summary"])) for r in before[:20_000]]
    )
    rows = rng.integers(0, corpus_sparse.shape[0], size=(n, 5))
    mix = sparse.csr_matrix(
        (np.full(n * 5, 0.2, np.float32), (np.repeat(np.arange(n), 5), rows.ravel())),
        shape=(n, corpus_sparse.shape[0]),
    )
    tfidf_profiles = (mix @ corpus_sparse).tocsr()
    paper_columns = batch.sparse.T.tocsc()
    sparse_floor, _ = timed(lambda: (tfidf_profiles @ paper_columns).toarray(), repeat=1)
    nnz = tfidf_profiles.nnz / n
    tfidf_profiles = mix = None  # free the memory before the next measurement

    # The lexical part: each profile's own terms are a random stored title's words and phrases
    # (idf-weighted, summing to 1, the strongest PROFILE_LEXICAL_MAX_TERMS kept, as
    # lexical.profile_weights makes them), with a calibration per profile.
    space = lexical.space(model)
    titles = lexical.paper_rows(model, model.sparse([clean(r["title"]) for r in before]))
    titles = sparse.csr_matrix(titles @ sparse.diags(space.idf))
    titles = sparse.csr_matrix(sparse.diags(1 / np.maximum(titles.sum(axis=1).A1, 1e-9)) @ titles)
    # Two titles' terms each (about as many as a keywords list; a long sentence has more).
    pairs = rng.integers(0, titles.shape[0], size=(2, n))
    lexical_profiles = ((titles[pairs[0]] + titles[pairs[1]]) / 2).astype(np.float32).tocsr()
    # Production keeps one row per built profile and stacks a chunk's rows (BatchTerms.scores).
    lexical_rows = [lexical_profiles[i] for i in range(n)]
    max_terms = settings.PROFILE_WEIGHTS["lexical_max_terms"]
    terms_per_profile = np.diff(lexical_profiles.indptr).mean()
    # Typed terms the vocabulary lacks, matched as written (PROFILE_LEXICAL_UNSEEN): a
    # sentence has a dozen (most of its two-word phrases). Each profile gets UNSEEN_PER_PROFILE
    # of those in stored titles, so some are in the day's papers and most are not.
    vocabulary = model.vectorizer.vocabulary_
    analyzer = model.vectorizer.build_analyzer()
    unseen_pool = sorted(
        {
            stems.stem_term(term, vocabulary)
            for i in rng.choice(len(before), 2000, replace=False)
            for term in analyzer(clean(before[i]["title"]))
            if term not in vocabulary
        }
    )
    chosen = rng.integers(0, len(unseen_pool), size=(n, UNSEEN_PER_PROFILE))
    unseen_terms = [tuple((unseen_pool[j], 0.02) for j in row) for row in chosen.tolist()]
    # The batch's index of its papers' unseen terms is built once per batch: timed alone.
    fresh = candidates.prepare_candidates(papers, model)
    started = time.perf_counter()
    fresh.terms.unseen_scores(unseen_terms[:1])
    unseen_index_seconds = time.perf_counter() - started
    fresh = None
    calibrations = [
        relevance.Calibration(semantic=float(a), lexical=float(b), offset=float(c), floor=float(f))
        for a, b, c, f in zip(
            rng.uniform(2, 4, n),
            rng.uniform(1, 3, n),
            rng.uniform(-0.3, 0, n),
            rng.uniform(0.5, 1.5, n),
            strict=True,
        )
    ]
    floors = np.array([c.floor for c in calibrations], np.float32)

    # Ours: the production chunk path, vectorised over each chunk.
    weights = settings.RANKING_WEIGHTS
    known_mask = np.ones(m, bool)
    allowed = np.ones(m, bool)
    allowed[rng.choice(m, 5, replace=False)] = False  # some papers already received
    open_mask = ~batch.hidden & known_mask & allowed

    # The optional sentence-embedding part (model/embeddings.py): one more dense product per
    # chunk, profiles x 384 by 384 x papers. Random unit vectors: the cost does not depend on
    # what they say, and the encoder itself is not needed to time it.
    embedding_profiles = features.l2_normalise(
        rng.standard_normal((n, embeddings.DIMENSIONS)).astype(np.float32)
    )
    paper_embeddings = features.l2_normalise(
        rng.standard_normal((m, embeddings.DIMENSIONS)).astype(np.float32)
    )
    embedding_calibrations = [
        dataclasses.replace(c, embedding=float(e))
        for c, e in zip(calibrations, rng.uniform(2, 4, n), strict=True)
    ]

    def ours(with_embeddings: bool = False) -> np.ndarray:
        out = np.empty((n, settings.DIGEST_MAX_ITEMS), np.int64)
        for start in range(0, n, args.chunk):
            stop = min(start + args.chunk, n)
            block = profile_matrix[start:stop]
            extra = None
            if with_embeddings:
                extra = embedding_profiles[start:stop] @ paper_embeddings.T
            scored = relevance.combine(
                block @ batch.scoring.T,
                batch.terms.scores(lexical_rows[start:stop])
                + batch.terms.unseen_scores(unseen_terms[start:stop]),
                (embedding_calibrations if with_embeddings else calibrations)[start:stop],
                extra,
            )
            scores = weights["relevance"] * scored + batch.prior
            out[start:stop] = scoring.select_with_floor(
                scores,
                scored,
                floors[start:stop],
                np.broadcast_to(open_mask, scored.shape),
                batch,
                limit=settings.DIGEST_MAX_ITEMS,
                weights=weights,
            )
        return out

    def semantic_only() -> np.ndarray:
        """The path before the lexical part and the floor (2026-11-30), for comparison."""
        out = np.empty((n, settings.DIGEST_MAX_ITEMS), np.int64)
        for start in range(0, n, args.chunk):
            block = profile_matrix[start : start + args.chunk]
            scored = block @ batch.scoring.T
            scores = weights["relevance"] * scored + batch.prior
            eligible = ((scored >= 0.1) | batch.pinned) & open_mask
            out[start : start + len(block)] = scoring.select_batch(
                scores,
                eligible,
                batch.pinned,
                batch.dense,
                limit=settings.DIGEST_MAX_ITEMS,
                weights=weights,
            )
        return out

    # A Celery worker process per core, one BLAS thread each (what subscribers.rank_many does).
    # Timed untraced (tracemalloc slows every allocation, and the comparison rows below are
    # not traced), then run once more under tracemalloc for its peak memory.
    with threadpool_limits(limits=1, user_api="blas"):
        ours_seconds, top = timed(ours)
        tracemalloc.start()
        ours()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    filled = float((top >= 0).sum(axis=1).mean())
    with threadpool_limits(limits=1, user_api="blas"):
        semantic_seconds, _ = timed(semantic_only)
        embedding_seconds, _ = timed(lambda: ours(with_embeddings=True))

    # One big block instead of chunks (what a single worker holding everything would do).
    def one_block() -> np.ndarray:
        scored = relevance.combine(
            profile_matrix @ batch.scoring.T,
            batch.terms.scores(lexical_rows) + batch.terms.unseen_scores(unseen_terms),
            calibrations,
        )
        scores = weights["relevance"] * scored + batch.prior
        return scoring.select_with_floor(
            scores,
            scored,
            floors,
            np.broadcast_to(open_mask, scored.shape),
            batch,
            limit=10,
            weights=weights,
        )

    block_seconds, _ = timed(one_block, repeat=1)
    tracemalloc.start()
    one_block()
    _, block_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # Explanations: only for what is sent, per chunk.
    built = profiles.build_profile(
        model, profiles.ProfileSpec(text="robot manipulation and locomotion")
    )
    started = time.perf_counter()
    for i in range(args.chunk):
        for j in range(10):
            explanations.explain(model, built, batch, (i + j) % m)
    explain_chunk = time.perf_counter() - started

    # Building a chunk's profiles (text + query expansion over the stored corpus), per chunk.
    words = ["robot", "speech", "graph", "security", "retrieval", "quantization", "diffusion"]
    specs = [
        profiles.ProfileSpec(text=f"{words[i % 7]} {words[(i * 3 + 1) % 7]} models")
        for i in range(args.chunk)
    ]
    started = time.perf_counter()
    for spec in specs:
        profiles.build_profile(model, spec)
    profile_chunk = time.perf_counter() - started

    # arxiv-sanity-lite: one SVM per subscriber over the TF-IDF corpus, from a sample.
    svm_times = []
    for _ in range(args.svm_sample):
        y = np.zeros(corpus_sparse.shape[0])
        y[rng.choice(corpus_sparse.shape[0], 5, replace=False)] = 1
        started = time.perf_counter()
        svm = LinearSVC(C=0.01, class_weight="balanced", max_iter=10_000, tol=1e-6)
        svm.fit(corpus_sparse, y)
        svm.decision_function(batch.sparse)
        svm_times.append(time.perf_counter() - started)
    svm_each = float(np.median(svm_times))

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log("")
    log(f"Scoring {n:,} subscribers x {m} papers, top 10 each (best of 3)")
    log(f"{'method':<48} {'seconds':>9} {'vs floor':>9}")
    rows_out = [
        (f"floor: bare dense product ({profile_matrix.shape[1]}-d)", dense_floor),
        (f"  the same, LSA half only ({model.dim}-d)", lsa_floor),
        (f"floor: bare sparse TF-IDF product ({nnz:.0f} nnz/profile)", sparse_floor),
        (f"ours: semantic + lexical + floor + MMR, chunks of {args.chunk}", ours_seconds),
        ("  before: semantic only, fixed floor, same chunks", semantic_seconds),
        (f"  + the optional {embeddings.DIMENSIONS}-d sentence embeddings", embedding_seconds),
        ("ours: same, one block of all subscribers", block_seconds),
        (
            f"arxiv-sanity SVM per subscriber (extrapolated, {svm_each:.2f} s each)",
            svm_each * n,
        ),
    ]
    for name, seconds in rows_out:
        log(f"{name:<48} {seconds:9.2f} {seconds / dense_floor:8.1f}x")
    log(f"ours vs arxiv-sanity: {svm_each * n / ours_seconds:,.0f}x faster")
    log(
        f"papers kept per subscriber: {filled:.1f} (synthetic floors); lexical terms per "
        f"profile: {terms_per_profile:.1f} (at most {max_terms}), plus {UNSEEN_PER_PROFILE} "
        "outside the vocabulary"
    )
    log(
        f"the batch's index of its papers' terms outside the vocabulary, built once per batch "
        f"({m} papers): {unseen_index_seconds:.2f} s"
    )
    log(
        f"building one chunk's {args.chunk} profiles (expansion over {corpus.shape[0]:,} "
        f"papers): {profile_chunk:.2f} s"
    )
    log(f"explanations for one chunk's digests ({args.chunk} x 10 papers): {explain_chunk:.2f} s")
    log(
        f"peak traced memory: chunked {peak / 2**20:.0f} MB, one block {block_peak / 2**20:.0f} MB;"
        f" peak RSS of the whole run {peak_rss:.0f} MB (incl. data, model, SVM corpus)"
    )
    per_chunk = ours_seconds / max(1, -(-n // args.chunk))
    log("with W Celery workers sharing the chunks (scoring only, from this run's per-chunk time):")
    for workers in args.workers:
        log(f"  W={workers:<3} {ours_seconds / workers:7.2f} s  ({per_chunk * 1e3:.1f} ms/chunk)")


if __name__ == "__main__":
    main()

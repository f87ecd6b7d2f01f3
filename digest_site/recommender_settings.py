"""The recommender's tuning knobs: digest size, candidate windows, the model, profile and
ranking weights. Imported by digest_site/settings.py; every variable is in docs/configuration.md.

Read from the environment like the main settings (the .env file was loaded there first).
"""

from __future__ import annotations

from pathlib import Path

import environ

__all__ = [
    "DIGEST_CHUNK_SIZE",
    "DIGEST_LOOKBACK_DAYS",
    "DIGEST_MAX_ITEMS",
    "INGEST_CLOCK_SKEW_HOURS",
    "INGEST_FRESH_SUBMISSION_DAYS",
    "INGEST_MAX_ABSTRACT_CHARS",
    "INGEST_MAX_AUTHORS",
    "INGEST_MAX_AUTHOR_CHARS",
    "INGEST_MAX_COMMENT_CHARS",
    "INGEST_MAX_DECOMPRESSED_BYTES",
    "INGEST_MAX_DOCUMENT_BYTES",
    "INGEST_MAX_FILE_BYTES",
    "INGEST_MAX_RECORDS_PER_FILE",
    "INGEST_MAX_RECORD_BYTES",
    "INGEST_MAX_TITLE_CHARS",
    "INGEST_MAX_URL_CHARS",
    "PROFILE_CACHE_SECONDS",
    "PROFILE_WEIGHTS",
    "RANKING_WEIGHTS",
    "RECOMMENDER_EMBEDDINGS",
    "RECOMMENDER_FIT_MAX_PAPERS",
    "RECOMMENDER_MIN_CORPUS",
    "RECOMMENDER_MODEL_DIR",
    "RECOMMENDER_MODEL_KEEP",
    "RECOMMENDER_REFIT_HOUR_UTC",
    "RECOMMENDER_SVD_COMPONENTS",
]

env = environ.Env()
_VAR_DIR = Path(
    env.str("DIGEST_VAR_DIR", default=str(Path(__file__).resolve().parent.parent / "var"))
)

DIGEST_MAX_ITEMS = env.int("DIGEST_MAX_ITEMS", default=10)
# Subscribers per Celery task. Each task loads the model and the candidates once and scores its
# subscribers as one block; numpy's cost per call dominates small blocks (100,000 subscribers:
# 3.1 s in chunks of 200, 1.8 s in 500, 1.5 s in 1,000, on one core), while smaller chunks
# spread better over many workers and keep one task's emails to a few minutes.
DIGEST_CHUNK_SIZE = env.int("DIGEST_CHUNK_SIZE", default=500)
# A daily digest considers papers first listed in the last N days of listings we have;
# weekly ones look back a week.
DIGEST_LOOKBACK_DAYS = {"daily": 2, "weekly": 8}

# Content-based recommender (README "Recommender" explains each knob). Artifacts are versioned
# files under RECOMMENDER_MODEL_DIR; put it on a shared volume when workers run on many machines.
RECOMMENDER_MODEL_DIR = Path(env.str("RECOMMENDER_MODEL_DIR", default=str(_VAR_DIR / "models")))
RECOMMENDER_MODEL_KEEP = env.int("RECOMMENDER_MODEL_KEEP", default=3)
# Fewer stored papers than this and no model is fitted: digests fall back to trending papers.
RECOMMENDER_MIN_CORPUS = env.int("RECOMMENDER_MIN_CORPUS", default=50)
# The refit reads at most this many of the newest papers (memory stays bounded as data grows).
RECOMMENDER_FIT_MAX_PAPERS = env.int("RECOMMENDER_FIT_MAX_PAPERS", default=150_000)
RECOMMENDER_SVD_COMPONENTS = env.int("RECOMMENDER_SVD_COMPONENTS", default=128)
RECOMMENDER_REFIT_HOUR_UTC = env.int("RECOMMENDER_REFIT_HOUR_UTC", default=3)
# The optional sentence-embedding part of relevance: "minilm" (needs `make embeddings`) or ""
# (off). Takes effect from the next refit (recommender/model/embeddings.py).
RECOMMENDER_EMBEDDINGS = env.str("RECOMMENDER_EMBEDDINGS", default="")
# How a profile is built from its parts (relative weights; each part is L2-normalised first).
PROFILE_WEIGHTS = {
    "text": env.float("PROFILE_TEXT_WEIGHT", default=1.0),
    "keywords": env.float("PROFILE_KEYWORDS_WEIGHT", default=1.0),
    "categories": env.float("PROFILE_CATEGORIES_WEIGHT", default=1.0),
    "seeds": env.float("PROFILE_SEEDS_WEIGHT", default=1.0),
    # Text and keywords first get the N vocabulary terms nearest to them in LSA space added
    # (weight similarity x idf, together this fraction of the text's own weight), then the
    # expansion by papers below. Chosen on the May validation window of
    # bench/recommender_quality.py (README); 0 turns it off.
    "text_term_expansion_terms": env.int("PROFILE_TEXT_TERM_EXPANSION_TERMS", default=10),
    "text_term_expansion": env.float("PROFILE_TEXT_TERM_EXPANSION_WEIGHT", default=0.5),
    "text_term_expansion_min_docs": env.int("PROFILE_TEXT_TERM_EXPANSION_MIN_DOCS", default=20),
    # In a sentence, words found in more than this share of the stored papers ("covers",
    # "aspects", "code", "computer") count only `text_common_word_weight` as much as the
    # specific ones, once the text has at least `text_common_word_min_specific` specific single
    # words (so "audio and speech processing", whose rare phrases are made of common words,
    # keeps them all). Chosen on the May validation window; on six windows sentence-style
    # interests gained 0.04-0.10 nDCG and short ones did not change (README); a weight of 1
    # turns it off.
    "text_common_word_share": env.float("PROFILE_TEXT_COMMON_WORD_SHARE", default=0.02),
    "text_common_word_weight": env.float("PROFILE_TEXT_COMMON_WORD_WEIGHT", default=0.1),
    "text_common_word_min_specific": env.int("PROFILE_TEXT_COMMON_WORD_MIN_SPECIFIC", default=2),
    # "level": instead of that damping, every word of such a sentence is brought to the same
    # LSA length (it counts by its idf alone), and only a common word that begins a two-word
    # phrase of the text found in at least `text_modifier_min_docs` papers ("computer
    # graphics") keeps the damping (query_shaping.level_word_lengths); the text's semantic
    # rows then leave out terms in fewer than `text_level_min_docs` papers. Only on a model
    # fitted on at least `text_level_min_corpus` papers; a smaller one damps. "damp": the
    # damping everywhere. Chosen by four rules, each with a fresh labelled test: a gain on
    # every fit of 43,000+ papers, a toss at 10,000, a loss at 1,000 (docs/benchmarks.md).
    "text_word_lengths": env.str("PROFILE_TEXT_WORD_LENGTHS", default="level"),
    "text_modifier_min_docs": env.int("PROFILE_TEXT_MODIFIER_MIN_DOCS", default=20),
    "text_level_min_docs": env.int("PROFILE_TEXT_LEVEL_MIN_DOCS", default=20),
    "text_level_min_corpus": env.int("PROFILE_TEXT_LEVEL_MIN_CORPUS", default=20_000),
    # Terms of the interest text in fewer than this many stored papers (or 1% of a small
    # corpus) are left out of its semantic row: their LSA vectors are fitted on those few
    # papers. Keywords and the lexical part keep them. Chosen on topic half A (both fits) and
    # the May window (docs/benchmarks.md); 0 turns it off.
    "text_min_docs": env.int("PROFILE_TEXT_MIN_DOCS", default=5),
    # Query expansion: the centroid of the N stored papers nearest to the profile is added.
    # Text and keywords may find their neighbours by title instead of full text: +0.015 nDCG on
    # a May validation window of bench/recommender_quality.py but -0.015 on its June test days
    # (README), so the simpler full-text neighbours stay the default.
    "text_expansion_by_title": env.bool("PROFILE_TEXT_EXPANSION_BY_TITLE", default=False),
    "text_expansion_docs": env.int("PROFILE_TEXT_EXPANSION_DOCS", default=100),
    "text_expansion": env.float("PROFILE_TEXT_EXPANSION_WEIGHT", default=1.0),
    "expansion_docs": env.int("PROFILE_EXPANSION_DOCS", default=100),
    "expansion": env.float("PROFILE_EXPANSION_WEIGHT", default=1.0),
    # Relevance = (1 - w) x LSA cosine + w x word-context cosine. The profile's word-context
    # vector is its own words and seed papers in that space plus this weight times the centroid
    # of its N nearest stored papers (found in LSA space) there (features.py,
    # profiles.scoring_vector). Chosen on the May validation window (README); 0 turns it off.
    "context": env.float("PROFILE_CONTEXT_WEIGHT", default=0.4),
    "context_docs": env.int("PROFILE_CONTEXT_DOCS", default=20),
    "context_expansion": env.float("PROFILE_CONTEXT_EXPANSION_WEIGHT", default=2.0),
    # Relevance = (1 - w) x calibrated semantic score + w x calibrated lexical score, where the
    # lexical score is the share of the (idf ** power)-weighted terms of the person's own text
    # and keywords (phrases x phrase weight, the strongest N kept) that a paper contains, and
    # each part is calibrated against the profile's scores over the model's reference sample:
    # 0 at their median, 1 at this quantile (recommender/model/relevance.py, lexical.py).
    # Chosen on half A of the topic set and the category protocol's May window
    # (docs/benchmarks.md); 0 turns the lexical part off.
    "lexical": env.float("PROFILE_LEXICAL_WEIGHT", default=0.2),
    # ...for a profile of at least this many effective terms (1 / sum of squared term weights);
    # one of fewer gets that share in proportion ("Papers on robotics", one word, 1/12 of it):
    # its lexical score is nearly a yes/no and ranks worse than its semantic one. A profile
    # with keywords always gets the full share.
    "lexical_full_terms": env.float("PROFILE_LEXICAL_FULL_TERMS", default=12.0),
    # A different share for profiles with keywords (unset: the share above). Keywords are the
    # exact words a person chose, so their lexical part might weigh more; 0.4 won on five
    # development sets and was vetoed by a clean sixth (docs/benchmarks.md), so it is unset.
    "lexical_keywords": env.float("PROFILE_LEXICAL_KEYWORDS_WEIGHT", default=None),
    # A word of the interest text (never a keyword) weighs (1 - t) + t x how close it sits to
    # the profile's meaning (its LSA cosine, relative to the profile's closest word): head nouns
    # keep their weight, a sentence's filler ("realistic", "complete") loses up to t of it.
    "lexical_topical": env.float("PROFILE_LEXICAL_TOPICAL", default=0.5),
    "lexical_idf_power": env.float("PROFILE_LEXICAL_IDF_POWER", default=1.0),
    "lexical_phrase_weight": env.float("PROFILE_LEXICAL_PHRASE_WEIGHT", default=1.0),
    "lexical_max_terms": env.int("PROFILE_LEXICAL_MAX_TERMS", default=64),
    # Typed terms the model's vocabulary lacks (the fit found them in fewer than two papers, or
    # past its 200,000-term cap: "AlphaFold") are matched as written, weighing as the rarest
    # known term: "all" (keywords' and the text's), "keywords" (only those of keywords) or ""
    # (neither: they count for nothing until a refit knows them). Words dropped as too common
    # never are. Chosen on topic half A (two fits), the page set and May (docs/benchmarks.md).
    "lexical_unseen": env.str("PROFILE_LEXICAL_UNSEEN", default="all"),
    # With the optional sentence encoder on (RECOMMENDER_EMBEDDINGS), relevance =
    # (1 - e) x the blend above + e x the calibrated embedding cosine of the interest text and
    # keywords (recommender/model/embeddings.py); unused when it is off.
    "embedding": env.float("PROFILE_EMBEDDING_WEIGHT", default=0.5),
    "reference_quantile": env.float("PROFILE_REFERENCE_QUANTILE", default=0.99),
    # A paper matches a profile when its calibrated relevance reaches the higher of `floor` and
    # the relevance of the profile's top `floor_share` of the reference sample; fewer matches
    # than a digest holds make a shorter digest with a note (ranking/scoring.py).
    "floor": env.float("PROFILE_RELEVANCE_FLOOR", default=0.5),
    "floor_share": env.float("PROFILE_RELEVANCE_FLOOR_SHARE", default=0.03),
    # Rocchio feedback: alpha * profile + beta * liked centroid - gamma * disliked centroid.
    "rocchio_alpha": env.float("PROFILE_ROCCHIO_ALPHA", default=1.0),
    "rocchio_beta": env.float("PROFILE_ROCCHIO_BETA", default=1.0),
    "rocchio_gamma": env.float("PROFILE_ROCCHIO_GAMMA", default=0.25),
    # A click counts as this fraction of a thumbs-up.
    "click": env.float("PROFILE_CLICK_WEIGHT", default=0.3),
}
# Built profiles are cached (shared cache) until the profile, its feedback or the model changes;
# 0 turns the cache off.
PROFILE_CACHE_SECONDS = env.int("PROFILE_CACHE_SECONDS", default=2 * 24 * 3600)
# How a digest is ranked: relevance blended with trending and curation, then diversified.
RANKING_WEIGHTS = {
    "relevance": env.float("RANKING_RELEVANCE_WEIGHT", default=1.0),
    "trending": env.float("RANKING_TRENDING_WEIGHT", default=0.1),
    # Upvotes at which the trending signal saturates (log scale); comments count this much.
    "trending_upvotes_scale": env.float("RANKING_TRENDING_UPVOTES_SCALE", default=100.0),
    "trending_comments": env.float("RANKING_TRENDING_COMMENTS_WEIGHT", default=0.5),
    "recency_half_life_days": env.float("RANKING_RECENCY_HALF_LIFE_DAYS", default=3.0),
    "featured": env.float("RANKING_FEATURED_BOOST", default=0.1),
    # MMR: each pick's score minus this times its similarity to the closest paper already picked.
    "diversity": env.float("RANKING_DIVERSITY_WEIGHT", default=0.1),
    # Papers at least this similar to one already picked are dropped as near-duplicates.
    "duplicate_similarity": env.float("RANKING_DUPLICATE_SIMILARITY", default=0.9),
    # When fewer papers than a digest holds reach the profile's floor (PROFILE_RELEVANCE_FLOOR),
    # up to this many of the nearest others are added, labelled as such; papers below
    # `min_relevance` (calibrated: 0 is a typical stored paper, 1 one of the profile's top 1%)
    # are never sent (pinned ones excepted).
    "near_misses": env.int("RANKING_NEAR_MISSES", default=3),
    # When fewer than this share of a digest's matches contain any keyword the person typed
    # (all its words), those few go first, then up to `near_misses` of the nearest papers
    # below the floor that contain one, and the note says so ("Only 1 close match has your
    # keywords (...), shown first; then 1 nearest other paper has them; then related papers").
    # On the topic set's keyword profiles 0.5-1.0 of a digest's matches contain one.
    "keyword_mention_share": env.float("RANKING_KEYWORD_MENTION_SHARE", default=1 / 3),
    "min_relevance": env.float("RANKING_MIN_RELEVANCE", default=0.25),
    # MMR chooses from each subscriber's this many best candidates (3x a digest: room to swap
    # near-duplicates for the next best, small enough to stay cheap at 100,000 subscribers).
    "mmr_pool": env.int("RANKING_MMR_POOL", default=30),
    # Explanations: a paper this similar to one the subscriber liked or seeded is explained by
    # it ("similar to a paper you liked: ..."); the profile's LSA loadings count this much when
    # choosing the "related: ..." terms; words in more than this share of all papers
    # ("learning") never explain anything.
    "explain_similar_paper": env.float("RANKING_EXPLAIN_SIMILAR_PAPER", default=0.6),
    "explain_related_terms": env.float("RANKING_EXPLAIN_RELATED_TERMS_WEIGHT", default=0.3),
    "explain_max_paper_share": env.float("RANKING_EXPLAIN_MAX_PAPER_SHARE", default=0.1),
}

# Ingestion limits (recommender/ingestion/sources/limits.py): what one file may make ingestion
# read and store. Defaults are far above real data (the 74,728-paper dump: longest title 226
# characters, abstract 3,488, 3,303 authors, author name 512, comment 431, line 56 KB).
INGEST_MAX_FILE_BYTES = env.int("INGEST_MAX_FILE_BYTES", default=1 << 30)
INGEST_MAX_DECOMPRESSED_BYTES = env.int("INGEST_MAX_DECOMPRESSED_BYTES", default=2 << 30)
# hf-json and page-text files are read whole: their own, lower cap (a day's HF listing is
# about 1 MB, a saved page 64 KB).
INGEST_MAX_DOCUMENT_BYTES = env.int("INGEST_MAX_DOCUMENT_BYTES", default=16 << 20)
# One JSON line or one Atom entry.
INGEST_MAX_RECORD_BYTES = env.int("INGEST_MAX_RECORD_BYTES", default=2 << 20)
INGEST_MAX_RECORDS_PER_FILE = env.int("INGEST_MAX_RECORDS_PER_FILE", default=1_000_000)
INGEST_MAX_TITLE_CHARS = env.int("INGEST_MAX_TITLE_CHARS", default=1_000)
INGEST_MAX_ABSTRACT_CHARS = env.int("INGEST_MAX_ABSTRACT_CHARS", default=20_000)
INGEST_MAX_AUTHORS = env.int("INGEST_MAX_AUTHORS", default=10_000)
INGEST_MAX_AUTHOR_CHARS = env.int("INGEST_MAX_AUTHOR_CHARS", default=1_000)
INGEST_MAX_COMMENT_CHARS = env.int("INGEST_MAX_COMMENT_CHARS", default=5_000)
INGEST_MAX_URL_CHARS = env.int("INGEST_MAX_URL_CHARS", default=500)
# Listing days and publication times later than now plus this are rejected (sources date their
# listings in other time zones; a day is plenty).
INGEST_CLOCK_SKEW_HOURS = env.int("INGEST_CLOCK_SKEW_HOURS", default=24)
# An arXiv API entry carries no listing day. One published in the last N days (the newest
# submissions the daily fetch asks for; a weekend and the announcement delay fit in 4) is taken
# as listed on the ingestion day; an older one (a search, a backfill) as listed on its
# publication day, so it enriches the row without becoming a candidate for today's digests.
INGEST_FRESH_SUBMISSION_DAYS = env.int("INGEST_FRESH_SUBMISSION_DAYS", default=4)

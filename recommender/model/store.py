"""Model storage: the one place fitted artifacts are written and read.

Layout under settings.RECOMMENDER_MODEL_DIR (default var/models/):

    model-<version>.joblib   one fitted FeaturesModel each, never modified once written
    current                  a one-line text file naming the version in use
    card.json                the current model's facts for people (version, when, sizes, fit time)
    evaluation.json          the figures of the last offline evaluation (`manage.py evaluate`)

Both files are written to a temporary file in the same directory and moved into place with
os.replace, which is atomic on POSIX: a reader sees the old artifact or the new one, never half a
file. Each process caches the loaded model and reloads only when `current` names a new version,
so workers pick up a nightly refit without a restart. Several machines share one artifact by
pointing RECOMMENDER_MODEL_DIR at a shared volume (or by each running the refit task).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
from django.conf import settings

from .features import CorpusTooSmall, FittedModel, describe, fit_model

log = logging.getLogger(__name__)

POINTER = "current"
CARD = "card.json"
EVALUATION = "evaluation.json"
PREFIX = "model-"
SUFFIX = ".joblib"
DENSE_MATRICES = ("corpus_matrix", "title_matrix", "context_matrix")

_lock = threading.Lock()
_cached: dict[str, FittedModel] = {}


def model_dir() -> Path:
    return Path(settings.RECOMMENDER_MODEL_DIR)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            write(temp)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def new_version(model: FittedModel) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{describe(model)}"


def save(model: FittedModel, *, fit_seconds: float | None = None) -> str:
    """Write `model` as a new version, make it current and return the version string."""
    # Workers widen the dense matrices to float32 when they first use them
    # (query_shaping.float32_matrix); the artifact keeps them in float16 whatever the model went
    # through before it is saved.
    for name in DENSE_MATRICES:
        matrix = getattr(model, name, None)
        if matrix is not None and matrix.dtype != np.float16:
            setattr(model, name, matrix.astype(np.float16))
    model.version = new_version(model)
    model.fitted_at = datetime.now(UTC).isoformat()
    directory = model_dir()
    _atomic_write(directory / f"{PREFIX}{model.version}{SUFFIX}", lambda f: joblib.dump(model, f))
    _write_json(directory / CARD, card_of(model, fit_seconds=fit_seconds))
    _atomic_write(directory / POINTER, lambda f: f.write(model.version.encode() + b"\n"))
    _prune(directory, keep=settings.RECOMMENDER_MODEL_KEEP, current=model.version)
    log.info("saved model %s", model.version)
    return model.version


def current_version() -> str | None:
    try:
        version = (model_dir() / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    return version or None


def load_current() -> FittedModel | None:
    """The current model, loaded once per process and per version; None if none was fitted."""
    version = current_version()
    if version is None:
        return None
    with _lock:
        model = _cached.get(version)
        if model is None:
            path = model_dir() / f"{PREFIX}{version}{SUFFIX}"
            try:
                # Arrays memory-mapped from the artifact (written once, never modified): only
                # the pages a worker reads are resident (the titles' rows, unused while title
                # expansion is off, never are), and the page cache holds one copy for every
                # process on the machine instead of one per worker.
                model = joblib.load(path, mmap_mode="r")
            except FileNotFoundError:
                log.error("model pointer names %s but %s is missing", version, path)
                return None
            except Exception:  # a corrupt artifact: digests fall back to trending, loudly
                log.exception("cannot load model %s from %s", version, path)
                return None
            _cached.clear()
            _cached[version] = model
    return model


def card_of(model: FittedModel, *, fit_seconds: float | None = None) -> dict:
    return {
        "version": model.version,
        "fitted_at": model.fitted_at,
        "corpus_size": len(model.corpus_ids),
        "vocabulary_size": model.vocabulary_size,
        "dimensions": model.dim,
        "fit_seconds": None if fit_seconds is None else round(fit_seconds, 2),
    }


def current_card() -> dict | None:
    """The current model's card, or None when no model is fitted.

    Read from card.json; a model saved before cards existed is loaded once to describe it
    (its fit time is then unknown)."""
    version = current_version()
    if version is None:
        return None
    card = _read_json(model_dir() / CARD)
    if card and card.get("version") == version:
        return card
    model = load_current()
    return card_of(model) if model is not None else None


def save_evaluation(figures: dict) -> None:
    """Keep the figures of an offline evaluation (with when it ran) for the admin dashboard."""
    _write_json(
        model_dir() / EVALUATION, {**figures, "evaluated_at": datetime.now(UTC).isoformat()}
    )


def last_evaluation() -> dict | None:
    return _read_json(model_dir() / EVALUATION)


def _write_json(path: Path, data: dict) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(data, indent=1).encode()))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def clear_cache() -> None:
    with _lock:
        _cached.clear()


def _prune(directory: Path, *, keep: int, current: str) -> None:
    """Delete all but the newest `keep` artifacts (a process may still read an older one)."""
    artifacts = sorted(directory.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)
    for old in artifacts[max(keep, 1) :]:
        if old.name != f"{PREFIX}{current}{SUFFIX}":
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


@dataclass
class RefitResult:
    version: str | None
    papers: int
    message: str


def refit_from_corpus() -> RefitResult:
    """Fit a new model on the newest stored papers and make it current.

    Hidden papers are left in the corpus: they are still text about the field; ranking is what
    keeps them out of digests. On a corpus too small to fit, the current model (if any) stays.
    """
    from ..models import Paper

    limit = settings.RECOMMENDER_FIT_MAX_PAPERS
    rows = list(
        Paper.objects.order_by("-first_seen", "-pk").values_list(
            "pk", "title", "abstract", "categories"
        )[:limit]
    )
    papers = [(str(pk), title, abstract, cats or []) for pk, title, abstract, cats in rows]
    started = time.perf_counter()
    try:
        model = fit_model(
            papers,
            min_papers=settings.RECOMMENDER_MIN_CORPUS,
            components=settings.RECOMMENDER_SVD_COMPONENTS,
        )
    except CorpusTooSmall as error:
        kept = current_version()
        message = f"Not refitted: {error}." + (
            f" Keeping model {kept}." if kept else " Digests use trending papers until then."
        )
        log.warning(message)
        return RefitResult(None, len(papers), message)
    version = save(model, fit_seconds=time.perf_counter() - started)
    return RefitResult(version, len(papers), f"Fitted model {version} on {len(papers)} papers.")

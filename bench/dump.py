"""The shared paper dump the recommender benches read, and the model they fit on it.

Imported after django.setup() by the bench scripts (the fit goes through recommender.features,
the code the nightly refit runs).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "arxiv-stream-2025-2026.jsonl.gz"


def load(path: Path) -> list[dict]:
    """Every record of a JSON-lines dump (gzip), in file order (sorted by first_seen)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def clean(text: str) -> str:
    """The dump's titles and abstracts carry hard line breaks; the ingestion parsers fold them."""
    return " ".join(text.split())


def papers(records: list[dict]) -> list:
    """The records as unsaved Papers, as ranking reads candidates (first listed on their day)."""
    from datetime import date

    from recommender.models import Paper

    return [
        Paper(
            arxiv_id=r["id"],
            title=clean(r["title"]),
            abstract=clean(r["summary"]),
            first_seen=date.fromisoformat(r["first_seen"]),
        )
        for r in records
    ]


def fit(records: list[dict], *, components: int):
    """The recommender's model fitted on `records`, labelled as a bench model."""
    from recommender.model import features

    model = features.fit_model(
        [(r["id"], clean(r["title"]), clean(r["summary"]), r["categories"]) for r in records],
        min_papers=50,
        components=components,
    )
    model.version = "bench"
    return model


def complete(model, records: list[dict]):
    """A cached model brought up to what a fit now keeps: the reference sample's TF-IDF rows and
    the words dropped as too common, from the records it was fitted on, for pickles written
    before the fit kept them. They are what the fit would keep."""
    from recommender.model import embeddings, features

    if getattr(model, "reference_rows", None) is None:
        model.reference_index = features.reference_sample(len(records))
        model.reference_rows = model.sparse(
            [
                features.paper_text(clean(records[i]["title"]), clean(records[i]["summary"]))
                for i in model.reference_index
            ]
        )
    if getattr(model, "common_words", None) is None:
        # As the fit counts them (features.common_words), on the same reference sample.
        max_df = features.TFIDF_PARAMS["max_df"] if len(records) >= features.LARGE_CORPUS else 1.0
        model.common_words = features.common_words(
            model,
            [
                features.paper_text(clean(records[i]["title"]), clean(records[i]["summary"]))
                for i in model.reference_index
            ],
            max_df,
        )
    if embeddings.enabled() and getattr(model, "reference_embeddings", None) is None:
        # As the fit embeds them with the optional encoder on (features.fit_model).
        model.reference_embeddings = embeddings.embed_papers(
            [
                (clean(records[i]["title"]), clean(records[i]["summary"]))
                for i in model.reference_index
            ]
        ).astype("float16")
    return model


class EmbeddingCache:
    """The optional encoder's embeddings kept in a pickle between bench runs (each paper costs
    ~110 ms of CPU to embed): `with EmbeddingCache(path):` loads it, and saves it back on the way
    out. Does nothing with the encoder off or no path."""

    def __init__(self, path: Path | None):
        self.path = path

    def __enter__(self):
        import pickle

        from recommender.model import embeddings

        if self.path is not None and embeddings.enabled() and self.path.exists():
            with self.path.open("rb") as handle:
                embeddings.remember(pickle.load(handle))
        return self

    def __exit__(self, *exc):
        import pickle

        from recommender.model import embeddings

        if self.path is not None and embeddings.enabled():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("wb") as handle:
                pickle.dump(embeddings.memo_items(), handle, protocol=pickle.HIGHEST_PROTOCOL)
        return False


def fit_cached(records: list[dict], *, components: int, cache: Path | None):
    """`fit`, read from the pickle `cache` when it exists (and written there when it does not):
    the fit is the slow part of a bench run, and the same records give the same model. The
    cache is the caller's to name after what it was fitted on."""
    import pickle

    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            return complete(pickle.load(handle), records)
    model = fit(records, components=components)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return model

"""Offline evaluation: rank a labelled dataset's papers for its profiles and measure the ranking.

Dataset file (JSON):

    {"papers":   [{"id": "...", "title": "...", "abstract": "...", "categories": [...]}, ...],
     "profiles": [{"id": "...", "text": "...", "keywords": [...], "categories": [...],
                   "seed_papers": ["<paper id>", ...]}, ...],
     "relevant": {"<profile id>": ["<paper id>", ...]}}

Every field is checked: an unknown field, a field of the wrong type, a duplicate id, or a
relevance list naming an unknown profile or paper is an error that says where it is. A
keywords string ("video LLMs, temporal grounding") is split on commas, the way the sign-up
form reads it, and the profile's row says so.

The model is fitted on the dataset's papers plus background papers (text only, no labels): the
files given, or by default the bundled sample corpus (BUNDLED_SAMPLE, the papers `make demo`
stores), so a small dataset is not ranked by a model fitted on itself alone, which production
never does (on the topic set: 303 papers alone give keywords 0.845 and sentences 0.613, with the
sample 0.885 and 0.747; docs/recommender.md);
each profile is built by profiles.build_profile and ranked by ranking.rank_profile, the same
functions real subscribers go through, so seeds are never recommended back and weak matches
below the relevance floor are not shown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings

from ..model import embeddings, profiles
from ..model.features import CorpusTooSmall, fit_model
from ..models import Paper
from .candidates import prepare_candidates
from .scoring import rank_profile

K = 10
# The papers `make demo` ingests: evaluate's background unless others are given.
BUNDLED_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample-papers.jsonl.gz"


class DatasetError(ValueError):
    """The dataset file is unusable; the message says where and why."""


@dataclass
class Dataset:
    papers: list[dict]
    profiles: list[dict]
    relevant: dict[str, set[str]]


@dataclass
class ProfileResult:
    id: str
    p_at_10: float
    ndcg_at_10: float
    recall_at_10: float
    ranker: str
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "ndcg_at_10": round(self.ndcg_at_10, 4),
            "p_at_10": round(self.p_at_10, 4),
            "recall_at_10": round(self.recall_at_10, 4),
            "messages": self.messages,
        }


# Below this many fitted papers the ranking is not the one production gives: written
# interests lean on which words go together, and a small corpus does not know it (on the topic
# set, sentences score 0.748 fitted on 1,299 papers against 0.829 on 65,491;
# docs/benchmarks.md, "The small-corpus regime").
SMALL_FIT = 20_000


@dataclass
class Report:
    p_at_10: float
    ndcg_at_10: float
    recall_at_10: float
    profiles: int
    skipped: list[str]
    model: str
    fit_papers: int
    results: list[ProfileResult]
    # The background files the model was also fitted on (file names), [] for the dataset alone.
    background: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "p_at_10": round(self.p_at_10, 4),
            "ndcg_at_10": round(self.ndcg_at_10, 4),
            "recall_at_10": round(self.recall_at_10, 4),
            "profiles": self.profiles,
            "skipped": self.skipped,
            "fit_papers": self.fit_papers,
            "background": self.background,
            "notes": self.notes,
            "results": [result.as_dict() for result in self.results],
        }

    @property
    def notes(self) -> list[str]:
        if self.fit_papers >= SMALL_FIT:
            return []
        return [
            f"The model was fitted on {self.fit_papers:,} papers; production fits on the stored "
            "corpus, tens of thousands. Interests written as sentences rank markedly worse on a "
            "fit this small: add papers with --background (for example a dump of the stream) "
            "to measure what subscribers get."
            + (
                ""
                if embeddings.enabled()
                else " The optional sentence-embedding part (make embeddings, then "
                "RECOMMENDER_EMBEDDINGS=minilm) keeps them close to their large-corpus figures."
            )
        ]


# --- Metrics (binary relevance) -----------------------------------------------------------------


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    return sum(1 for pid in ranked[:k] if pid in relevant) / k


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    if not relevant:
        return 0.0
    return sum(1 for pid in ranked[:k] if pid in relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    gains = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return gains / ideal if ideal else 0.0


# --- Dataset ------------------------------------------------------------------------------------


DATASET_FIELDS = {"papers", "profiles", "relevant"}
PAPER_FIELDS = {"id", "title", "abstract", "categories"}
PROFILE_FIELDS = {"id", "text", "keywords", "categories", "seed_papers"}


def load_dataset(path: Path) -> Dataset:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror or error}") from error
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object with papers, profiles and relevant")
    _no_unknown_fields(path, "the dataset", data, DATASET_FIELDS)
    papers, profile_list = data.get("papers"), data.get("profiles")
    relevant = data.get("relevant", {})
    if not isinstance(papers, list) or not papers:
        raise DatasetError(f"{path}: 'papers' must be a non-empty list")
    if not isinstance(profile_list, list) or not profile_list:
        raise DatasetError(f"{path}: 'profiles' must be a non-empty list")
    if not isinstance(relevant, dict):
        raise DatasetError(f"{path}: 'relevant' must map profile ids to lists of paper ids")
    paper_ids = _check_papers(path, papers)
    profile_ids = _check_profiles(path, profile_list, paper_ids)
    return Dataset(
        papers=papers,
        profiles=profile_list,
        relevant=_check_relevant(path, relevant, profile_ids, paper_ids),
    )


def _no_unknown_fields(path: Path, where: str, item: dict, known: set[str]) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise DatasetError(
            f"{path}: {where}: unknown field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))} (expected some of {', '.join(sorted(known))})"
        )


def _string_list(path: Path, where: str, value, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise DatasetError(f"{path}: {where}: '{name}' must be a list of strings")
    return [str(v) for v in value]


def _check_papers(path: Path, papers: list) -> set[str]:
    seen: set[str] = set()
    for n, paper in enumerate(papers):
        where = f"papers[{n}]"
        if not isinstance(paper, dict) or not paper.get("id") or not paper.get("title"):
            raise DatasetError(f"{path}: {where} needs at least an id and a title")
        _no_unknown_fields(path, where, paper, PAPER_FIELDS)
        paper["id"] = str(paper["id"])
        if paper["id"] in seen:
            raise DatasetError(f"{path}: paper id {paper['id']!r} appears twice")
        if not isinstance(paper.get("abstract") or "", str):
            raise DatasetError(f"{path}: {where}: 'abstract' must be a string")
        paper["categories"] = _string_list(path, where, paper.get("categories"), "categories")
        seen.add(paper["id"])
    return seen


def _check_profiles(path: Path, profile_list: list, paper_ids: set[str]) -> set[str]:
    seen: set[str] = set()
    for n, profile in enumerate(profile_list):
        if not isinstance(profile, dict) or "id" not in profile:
            raise DatasetError(f"{path}: profiles[{n}] needs an id")
        profile["id"] = str(profile["id"])
        where = f"profiles[{n}] ({profile['id']!r})"
        _no_unknown_fields(path, where, profile, PROFILE_FIELDS)
        if profile["id"] in seen:
            raise DatasetError(f"{path}: profile id {profile['id']!r} appears twice")
        seen.add(profile["id"])
        if not isinstance(profile.get("text") or "", str):
            raise DatasetError(f"{path}: {where}: 'text' must be a string")
        keywords = profile.get("keywords")
        if isinstance(keywords, str):
            # One string, as a person types it: read it the way the sign-up form does.
            profile["keywords"] = [k.strip() for k in keywords.split(",") if k.strip()]
            profile["_notes"] = [
                f"keywords given as one string: split on commas into "
                f"{len(profile['keywords'])} keywords."
            ]
        else:
            profile["keywords"] = _string_list(path, where, keywords, "keywords")
        if isinstance(profile.get("categories"), str):
            raise DatasetError(
                f"{path}: {where}: 'categories' must be a list of arXiv categories, not a string"
            )
        profile["categories"] = _string_list(path, where, profile.get("categories"), "categories")
        seeds = profile.get("seed_papers")
        if isinstance(seeds, str):
            raise DatasetError(f"{path}: {where}: 'seed_papers' must be a list of paper ids")
        profile["seed_papers"] = _string_list(path, where, seeds, "seed_papers")
        for k, seed in enumerate(profile["seed_papers"]):
            if seed not in paper_ids:
                raise DatasetError(
                    f"{path}: {where}: seed_papers[{k}]: no paper has the id {seed!r}"
                )
    return seen


def _check_relevant(
    path: Path, relevant: dict, profile_ids: set[str], paper_ids: set[str]
) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for profile_id, ids in relevant.items():
        where = f"relevant[{profile_id!r}]"
        if profile_id not in profile_ids:
            raise DatasetError(f"{path}: {where}: no profile has the id {profile_id!r}")
        if not isinstance(ids, list):
            raise DatasetError(f"{path}: {where} must be a list of paper ids")
        for n, paper_id in enumerate(ids):
            if str(paper_id) not in paper_ids:
                raise DatasetError(f"{path}: {where}[{n}]: no paper has the id {str(paper_id)!r}")
        out[profile_id] = {str(x) for x in ids}
    return out


def read_background(paths: Iterable[Path]) -> tuple[list[tuple[str, str, str, list]], list[str]]:
    """Papers of background files in any ingestion format, as (id, title, abstract, categories);
    plus one line per rejected record."""
    try:
        from ..ingestion.sources import parse_path
    except ImportError:  # the ingestion rewrite has not landed: read JSON lines ourselves
        parse_path = _parse_jsonl_dump
    papers, problems = [], []
    for path in paths:
        for item in parse_path(path):
            title = getattr(item, "title", None)
            if title is None:
                problems.append(str(item))
                continue
            key = item.arxiv_id or f"{path}:{item.location}"
            papers.append((key, title, item.abstract, list(item.categories or [])))
    return papers, problems


@dataclass
class _DumpRecord:
    arxiv_id: str
    title: str
    abstract: str
    categories: list
    location: str


def _parse_jsonl_dump(path: Path):
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                r = json.loads(line)
                yield _DumpRecord(
                    r.get("id"), r["title"], r.get("summary", ""), r.get("categories"), str(number)
                )


# --- Evaluation ---------------------------------------------------------------------------------


def spec_from_dataset(profile: dict, papers: dict[str, dict]) -> profiles.ProfileSpec:
    seeds, missing = [], []
    for pid in profile.get("seed_papers") or []:
        paper = papers.get(str(pid))
        if paper is None:
            missing.append(str(pid))
        else:
            seeds.append(
                profiles.PaperDoc(paper["id"], paper["title"], paper.get("abstract") or "")
            )
    messages = list(profile.get("_notes") or [])
    if missing:
        messages.append(f"Seed papers not found in the dataset (ignored): {', '.join(missing)}.")
    return profiles.ProfileSpec(
        text=str(profile.get("text") or ""),
        keywords=[str(k) for k in profile.get("keywords") or []],
        categories=[str(c) for c in profile.get("categories") or []],
        seeds=seeds,
        messages=messages,
    )


def evaluate(
    dataset: Dataset, background: Sequence[tuple[str, str, str, list]] = (), *, k: int = K
) -> Report:
    """Fit on dataset + background texts, rank every dataset paper for every profile, measure."""
    fit_papers = {pid: (pid, title, abstract, cats) for pid, title, abstract, cats in background}
    for paper in dataset.papers:
        fit_papers[paper["id"]] = (
            paper["id"],
            paper["title"],
            paper.get("abstract") or "",
            paper.get("categories") or [],
        )
    try:
        model = fit_model(
            list(fit_papers.values()),
            min_papers=settings.RECOMMENDER_MIN_CORPUS,
            components=settings.RECOMMENDER_SVD_COMPONENTS,
        )
        model.version = "evaluation"
    except CorpusTooSmall as error:
        raise DatasetError(
            f"{error}; add papers with --background (any ingestion format)"
        ) from error
    by_id = {paper["id"]: paper for paper in dataset.papers}
    candidates = [
        Paper(
            arxiv_id=paper["id"],
            title=paper["title"],
            abstract=paper.get("abstract") or "",
            first_seen=date.today(),
        )
        for paper in dataset.papers
    ]
    batch = prepare_candidates(candidates, model)
    results, skipped = [], []
    for entry in dataset.profiles:
        relevant = dataset.relevant.get(entry["id"], set())
        if not relevant:
            skipped.append(entry["id"])
            continue
        built = profiles.build_profile(model, spec_from_dataset(entry, by_id))
        ranked = rank_profile(model, built, batch, limit=k)
        ids = [pick.paper.arxiv_id for pick in ranked.picks]
        results.append(
            ProfileResult(
                entry["id"],
                precision_at_k(ids, relevant, k),
                ndcg_at_k(ids, relevant, k),
                recall_at_k(ids, relevant, k),
                ranked.ranker,
                ranked.messages,
            )
        )
    n = max(len(results), 1)
    return Report(
        p_at_10=sum(r.p_at_10 for r in results) / n,
        ndcg_at_10=sum(r.ndcg_at_10 for r in results) / n,
        recall_at_10=sum(r.recall_at_10 for r in results) / n,
        profiles=len(results),
        skipped=skipped,
        model=model.version,
        fit_papers=len(fit_papers),
        results=results,
    )

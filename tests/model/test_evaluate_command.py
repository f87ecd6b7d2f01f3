from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recommender.ranking import evaluation
from tests.helpers import FIXTURES, SAMPLE_PAPERS

DATASET = FIXTURES / "eval-dataset.json"
BACKGROUND = SAMPLE_PAPERS


def test_it_computes_precision_ndcg_and_recall_at_10():
    relevant = {"a", "b", "c"}
    ranked = ["a", "x", "b", "y"]
    assert evaluation.precision_at_k(ranked, relevant) == pytest.approx(0.2)
    assert evaluation.recall_at_k(ranked, relevant) == pytest.approx(2 / 3)
    ideal = 1 + 1 / 1.5849625 + 1 / 2
    assert evaluation.ndcg_at_k(ranked, relevant) == pytest.approx((1 + 1 / 2) / ideal, rel=1e-6)
    assert evaluation.ndcg_at_k(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert evaluation.ndcg_at_k(["x"], relevant) == 0.0


def test_it_prints_one_json_object_with_the_averaged_metrics_and_every_profile(capsys):
    call_command("evaluate", "--dataset", str(DATASET), "--background", str(BACKGROUND), "--json")
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "p_at_10",
        "ndcg_at_10",
        "recall_at_10",
        "profiles",
        "skipped",
        "fit_papers",
        "background",
        "notes",
        "results",
    }
    assert result["background"] == ["sample-papers.jsonl.gz"]
    # Fitted on the dataset and the bundled sample: far fewer papers than production reads,
    # and the report says so.
    assert result["fit_papers"] < evaluation.SMALL_FIT
    assert "add papers with --background" in result["notes"][0]
    assert "RECOMMENDER_EMBEDDINGS=minilm" in result["notes"][0]  # (the extra is off here)
    assert result["profiles"] == 9  # the profile without relevant papers is skipped
    assert result["skipped"] == ["no-labels"]
    # Far better than chance: about a fifth of the dataset is relevant to each profile.
    assert result["ndcg_at_10"] > 0.4
    assert 0 < result["recall_at_10"] <= 1
    rows = {row["id"]: row for row in result["results"]}
    assert len(rows) == 9
    assert "robotics-keywords" in rows
    assert set(rows["robotics-keywords"]) >= {"ndcg_at_10", "p_at_10", "recall_at_10"}
    # The averages are the averages of the rows.
    mean = sum(row["ndcg_at_10"] for row in rows.values()) / 9
    assert abs(mean - result["ndcg_at_10"]) < 1e-3


def test_it_prints_a_table_of_every_profile(capsys):
    call_command("evaluate", "--dataset", str(DATASET), "--dataset-only")
    out = capsys.readouterr().out
    assert "168 dataset papers, 10 profiles, 0 background papers (0 rejected; none)" in out
    assert "skipped (no relevant papers listed): no-labels" in out
    assert "  robotics-keywords " in out
    assert "9 profiles: P@10 " in out
    assert "The model was fitted on 168 papers; production fits on the stored corpus" in out


def test_by_default_the_model_is_also_fitted_on_the_bundled_sample(capsys):
    """A small dataset alone is a fit production never makes; the papers `make demo` stores
    are added unless --dataset-only (or other --background files) say otherwise."""
    call_command("evaluate", "--dataset", str(DATASET), "--json")
    default = json.loads(capsys.readouterr().out)
    call_command("evaluate", "--dataset", str(DATASET), "--dataset-only", "--json")
    alone = json.loads(capsys.readouterr().out)
    sample = len(evaluation.read_background([evaluation.BUNDLED_SAMPLE])[0])
    assert sample > 900
    assert alone["fit_papers"] == 168
    assert alone["background"] == []
    assert 168 < default["fit_papers"] <= 168 + sample
    assert default["background"] == ["sample-papers.jsonl.gz"]
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command(
            "evaluate", "--dataset", str(DATASET), "--dataset-only", "--background", str(DATASET)
        )


def test_a_report_on_a_large_fit_has_no_note():
    report = evaluation.Report(0.5, 0.5, 0.5, 1, [], "m", evaluation.SMALL_FIT, [])
    assert report.notes == []
    assert report.as_dict()["notes"] == []


def _dataset_with(tmp_path, change) -> Path:
    data = json.loads(DATASET.read_text())
    change(data)
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(data))
    return path


def test_it_splits_a_keywords_string_on_commas_and_says_so(tmp_path, capsys):
    def as_string(data):
        profile = next(p for p in data["profiles"] if p["id"] == "robotics-keywords")
        profile["keywords"] = "robot manipulation, legged locomotion"

    call_command("evaluate", "--dataset", str(_dataset_with(tmp_path, as_string)))
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "robotics-keywords" in row)
    assert "keywords given as one string: split on commas into 2 keywords." in line
    # Read as two keywords, not as a list of characters: the same figures as the list form.
    call_command("evaluate", "--dataset", str(DATASET))
    listed = next(row for row in capsys.readouterr().out.splitlines() if "robotics-keywords" in row)
    assert line.split("[")[0] == listed.split("[")[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["profiles"][0].update(name="graphics"),
            r"profiles\[0\] \('cs.GR-text'\): unknown field 'name'",
        ),
        (lambda d: d.update(labels={}), r"the dataset: unknown field 'labels'"),
        (lambda d: d["papers"][2].update(summary="x"), r"papers\[2\]: unknown field 'summary'"),
        (
            lambda d: d["relevant"].update({"nobody": []}),
            r"relevant\['nobody'\]: no profile has the id 'nobody'",
        ),
        (
            lambda d: d["relevant"]["robotics-keywords"].append("9999.99999"),
            r"relevant\['robotics-keywords'\]\[\d+\]: no paper has the id '9999.99999'",
        ),
        (
            lambda d: d["profiles"][1].update(seed_papers=["9999.99999"]),
            r"profiles\[1\] \('cs.GR-seeds'\): seed_papers\[0\]: no paper has the id",
        ),
        (
            lambda d: d["profiles"][0].update(categories="cs.GR"),
            r"profiles\[0\] \('cs.GR-text'\): 'categories' must be a list",
        ),
        (
            lambda d: d["profiles"][0].update(keywords=[["nested"]]),
            r"profiles\[0\] \('cs.GR-text'\): 'keywords' must be a list of strings",
        ),
        (
            lambda d: d["profiles"].append(dict(d["profiles"][0])),
            r"profile id 'cs.GR-text' appears twice",
        ),
    ],
)
def test_it_refuses_a_dataset_with_unknown_fields_or_ids_and_says_where(tmp_path, change, message):
    with pytest.raises(CommandError, match=message):
        call_command("evaluate", "--dataset", str(_dataset_with(tmp_path, change)))


def test_it_falls_back_to_trending_for_an_empty_dataset_profile(tmp_path, capsys):
    data = json.loads(DATASET.read_text())
    data["profiles"].append({"id": "empty"})
    data["relevant"]["empty"] = data["relevant"]["cs.RO-text"]
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(data))
    call_command("evaluate", "--dataset", str(path))
    out = capsys.readouterr().out
    assert "Showing trending papers instead." in out
    assert "10 profiles: P@10" in out


def test_it_refuses_a_corpus_too_small_with_a_clear_message(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(
        json.dumps(
            {
                "papers": [{"id": "1", "title": "Robots", "abstract": "Robots grasp."}],
                "profiles": [{"id": "p", "text": "robots"}],
                "relevant": {"p": ["1"]},
            }
        )
    )
    with pytest.raises(CommandError, match=r"only 1 papers stored.*--background"):
        call_command("evaluate", "--dataset", str(path), "--dataset-only")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not valid JSON"),
        ('{"papers": [], "profiles": [{"id": 1}]}', "'papers' must be a non-empty list"),
        ('{"papers": [{"id": "1"}], "profiles": [{"id": 1}]}', "needs at least an id and a title"),
    ],
)
def test_it_explains_what_is_wrong_with_a_dataset(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate", "--dataset", str(path))


def test_it_reads_background_papers_in_any_ingestion_format():
    papers, problems = evaluation.read_background([FIXTURES / "arxiv-feed.xml", BACKGROUND])
    assert len(papers) > 996
    assert all(title for _id, title, _abstract, _cats in papers)
    assert isinstance(problems, list)


def test_the_page_sets_interests_each_have_relevant_papers_in_both_modes():
    # bench/page_topics.py's labelled set: in evaluate's format, every interest written both
    # ways with the same relevant papers (a labelling slip would silently skip a profile).
    path = Path(__file__).resolve().parents[2] / "bench" / "data" / "daily-page-topics.json"
    dataset = evaluation.load_dataset(path)
    interests = {profile["id"].rsplit("-", 1)[0] for profile in dataset.profiles}
    assert len(interests) == 8
    assert len(dataset.papers) == 37
    for interest in interests:
        keywords, sentence = (dataset.relevant[f"{interest}-{m}"] for m in ("keywords", "sentence"))
        assert keywords
        assert keywords == sentence


@pytest.mark.parametrize(
    ("name", "papers"),
    [
        ("topic-labels-2026-06-15.json", 175),
        ("topic-labels-2026-04-16.json", 221),
        ("topic-labels-2026-03-11.json", 255),
        ("topic-labels-2026-02-25.json", 209),
        ("topic-labels-2026-01-22.json", 183),
        ("topic-labels-2026-01-15.json", 212),
        ("topic-labels-2026-01-30.json", 290),
        ("topic-labels-2026-02-04.json", 279),
        ("topic-labels-2026-03-25.json", 268),
        ("topic-labels-2026-04-23.json", 245),
        ("topic-labels-2026-03-23.json", 230),
        ("topic-labels-2026-04-13.json", 227),
    ],
)
def test_the_extra_topic_sets_label_every_pool_paper_with_known_interests(name, papers):
    # bench/topic_quality.py --labels reads them as it reads the shared topic set.
    path = Path(__file__).resolve().parents[2] / "bench" / "data" / name
    labels = json.loads(path.read_text(encoding="utf-8"))
    topics = {topic["id"] for topic in labels["topics"]}
    assert all(topic["keywords"] and topic["sentence"] for topic in labels["topics"])
    assert set(labels["labels"]) == set(labels["pool"]["ids"])
    assert len(labels["pool"]["ids"]) == papers
    assigned = [t for ts in labels["labels"].values() for t in ts]
    assert set(assigned) == topics  # every interest has at least one relevant paper

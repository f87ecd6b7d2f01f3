from __future__ import annotations

import json

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


def test_it_prints_one_json_object_with_the_averaged_metrics(capsys):
    call_command("evaluate", "--dataset", str(DATASET), "--background", str(BACKGROUND), "--json")
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"p_at_10", "ndcg_at_10", "recall_at_10", "profiles"}
    assert result["profiles"] == 9  # the profile without relevant papers is skipped
    # Far better than chance: about a fifth of the dataset is relevant to each profile.
    assert result["ndcg_at_10"] > 0.4
    assert 0 < result["recall_at_10"] <= 1


def test_it_prints_a_table_with_notes_for_bad_seeds(capsys):
    call_command("evaluate", "--dataset", str(DATASET))
    out = capsys.readouterr().out
    assert "168 dataset papers, 10 profiles, 0 background papers" in out
    assert "Seed papers not found in the dataset (ignored): 9999.99999." in out
    assert "skipped (no relevant papers listed): no-labels" in out
    assert "9 profiles: P@10 " in out


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
        call_command("evaluate", "--dataset", str(path))


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

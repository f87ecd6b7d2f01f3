from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from django.core.management import call_command

from recommender import tasks
from recommender.model import store as model_store


def _artifacts(settings):
    return sorted(p.name for p in settings.RECOMMENDER_MODEL_DIR.iterdir())


def test_it_saves_versioned_artifacts_and_points_current_at_the_newest(settings, sample_model):
    first = model_store.save(sample_model)
    second = model_store.save(sample_model)
    assert first != second
    assert _artifacts(settings) == [
        "card.json",
        "current",
        f"model-{first}.joblib",
        f"model-{second}.joblib",
    ]
    assert model_store.current_version() == second
    # The card the admin dashboard shows describes the current version.
    card = model_store.current_card()
    assert card["version"] == second
    assert card["corpus_size"] == len(sample_model.corpus_ids)
    assert model_store.load_current().version == second


def test_it_reloads_when_another_process_saves_a_new_version(sample_model):
    model_store.save(sample_model)
    loaded = model_store.load_current()
    assert model_store.load_current() is loaded  # cached while the version is unchanged
    newer = model_store.save(sample_model)
    assert model_store.load_current() is not loaded
    assert model_store.load_current().version == newer


def test_it_leaves_the_current_model_in_place_when_a_write_fails(
    settings, sample_model, monkeypatch
):
    kept = model_store.save(sample_model)
    before = _artifacts(settings)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        model_store.save(sample_model)
    assert _artifacts(settings) == before  # no temp file, no half-written artifact
    assert model_store.current_version() == kept


def test_it_keeps_only_the_newest_artifacts(settings, sample_model):
    settings.RECOMMENDER_MODEL_KEEP = 2
    versions = [model_store.save(sample_model) for _ in range(4)]
    assert _artifacts(settings) == ["card.json", "current"] + [
        f"model-{v}.joblib" for v in versions[-2:]
    ]


def test_it_treats_a_corrupt_artifact_as_no_model(settings, sample_model):
    version = model_store.save(sample_model)
    model_store.clear_cache()
    (settings.RECOMMENDER_MODEL_DIR / f"model-{version}.joblib").write_bytes(b"not a model")
    assert model_store.load_current() is None


def test_it_refits_from_the_stored_papers(make_paper):
    for n in range(60):
        make_paper(title=f"Robot grasping study {n}", abstract=f"Robots grasp object {n} well.")
    result = model_store.refit_from_corpus()
    assert result.version == model_store.current_version()
    assert result.papers == 60
    assert "Fitted model" in result.message


def test_it_keeps_the_old_model_when_the_corpus_is_too_small(make_paper, sample_model):
    kept = model_store.save(sample_model)
    make_paper()
    result = model_store.refit_from_corpus()
    assert result.version is None
    assert "only 1 papers stored" in result.message
    assert f"Keeping model {kept}" in result.message
    assert model_store.current_version() == kept


def test_it_refits_from_the_command_and_the_beat_task(make_paper, capsys, settings):
    settings.RECOMMENDER_MIN_CORPUS = 3
    for n in range(3):
        make_paper(title=f"Speech synthesis {n}", abstract=f"Neural vocoder number {n}.")
    call_command("refit_model")
    assert "Fitted model" in capsys.readouterr().out
    assert tasks.refit_model.delay().get().startswith("Fitted model")
    assert "refit-recommender-model" in settings.CELERY_BEAT_SCHEDULE


def test_it_warns_from_the_command_when_there_is_nothing_to_fit(db, capsys):
    call_command("refit_model")
    out = capsys.readouterr().out
    assert "Not refitted: only 0 papers stored" in out
    assert "trending papers" in out


def test_it_loads_the_artifact_memory_mapped_and_builds_the_same_profiles(installed_model):
    """Workers map the artifact's arrays instead of copying them: the titles' rows (unused while
    title expansion is off) are never read, every process shares the pages, and profiles and
    paper rows come out exactly as from the model in memory."""
    from recommender.model import profiles

    loaded = model_store.load_current()
    artifact = model_store.model_dir() / f"model-{loaded.version}.joblib"
    assert isinstance(loaded.title_matrix, np.memmap)
    assert Path(loaded.title_matrix.filename) == artifact
    assert not loaded.svd.components_.flags.writeable
    spec = profiles.ProfileSpec(text="robot grasping and legged locomotion", categories=["cs.RO"])
    from_file = profiles.build_profile(loaded, spec)
    in_memory = profiles.build_profile(installed_model, spec)
    assert np.array_equal(from_file.scoring, in_memory.scoring)
    assert from_file.calibration == in_memory.calibration
    paper = [("Grasping", "A robot arm learns to grasp objects.")]
    _rows, dense = loaded.transform_papers(paper)
    assert np.array_equal(dense, installed_model.transform_papers(paper)[1])

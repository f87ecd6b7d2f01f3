from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from django.conf import settings

from recommender.model import features, tfidf
from tests.helpers import SAMPLE_PAPERS


@pytest.fixture(scope="module")
def sample_texts():
    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    texts = [features.paper_text(r["title"], r["summary"]) for r in records]
    return texts + [r["title"] for r in records]


@pytest.fixture(scope="module")
def fitted_sklearn(sample_texts):
    """scikit-learn's vectorizer and SVD fitted with the project's settings."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        **{**features.TFIDF_PARAMS, "stop_words": features.stop_words(), "min_df": 2}
    )
    rows = vectorizer.fit_transform(sample_texts[:800]).astype(np.float32)
    svd = TruncatedSVD(n_components=32, **features.SVD_PARAMS).fit(rows)
    svd.components_ = svd.components_.astype(np.float32)
    return vectorizer, svd


ODD_TEXTS = [
    "Émile's café: naïve Bayes for über-fast Straße mapping",
    "ﬁne-tuning robots on ℝ³ with ½ the data",
    "",
    "the and of it",
    "Robots robots ROBOTS grasping",
]


def test_it_gives_scikit_learns_tfidf_rows_exactly(fitted_sklearn, sample_texts):
    vectorizer, _svd = fitted_sklearn
    ours = tfidf.TermWeights.of(vectorizer)
    texts = sample_texts + ODD_TEXTS
    expected = vectorizer.transform(texts).astype(np.float32).tocsr()
    got = ours.transform(texts)
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)
    analyzer = vectorizer.build_analyzer()
    assert all(ours.analyze(text) == analyzer(text) for text in texts)
    assert list(ours.get_feature_names_out()) == list(vectorizer.get_feature_names_out())


def test_it_gives_scikit_learns_lsa_rows_exactly(fitted_sklearn, sample_texts):
    vectorizer, svd = fitted_sklearn
    rows = vectorizer.transform(sample_texts[:300] + ODD_TEXTS).astype(np.float32).tocsr()
    ours = tfidf.Projection.of(svd)
    assert ours.n_components == 32
    assert np.array_equal(ours.components_, svd.components_)
    assert np.array_equal(ours.transform(rows), svd.transform(rows))


def test_it_refuses_a_vectorizer_it_cannot_reproduce(fitted_sklearn):
    from sklearn.base import clone

    vectorizer = clone(fitted_sklearn[0]).set_params(binary=True)
    with pytest.raises(ValueError, match="binary"):
        tfidf.TermWeights.of(vectorizer)


def test_it_builds_profiles_in_a_worker_without_importing_scikit_learn(installed_model, tmp_path):
    """What a pool child does (load the current model, build a profile, rank a paper) never
    imports scikit-learn, which would cost it about 70 MiB."""
    script = textwrap.dedent(
        """
        import os, sys
        import django
        django.setup()
        from recommender.model import profiles, store
        model = store.load_current()
        spec = profiles.ProfileSpec(text="robot grasping", keywords=["manipulation"])
        profile = profiles.build_profile(model, spec)
        rows, dense = model.transform_papers([("Grasping", "A robot arm learns to grasp.")])
        print(profile.parts, round(float(dense[0] @ profile.vector), 6))
        print("sklearn" in sys.modules)
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "digest_site.settings",
        "RECOMMENDER_MODEL_DIR": str(settings.RECOMMENDER_MODEL_DIR),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    parts, imported = done.stdout.strip().splitlines()[-2:]
    assert "text" in parts
    assert "keywords" in parts
    assert imported == "False"

"""`make demo` fits a real model on the sample papers and says which ranker made the digest."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.services import PROJECT_ROOT


def test_it_fits_a_model_in_the_demo_and_labels_the_digest_with_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DIGEST_VAR_DIR": str(tmp_path / "var")}
    for command in (["migrate", "--noinput"], ["demo"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    fitted = re.search(r"Fitted model (\S+) on 996 papers", result.stdout)
    assert fitted, result.stdout
    version = fitted.group(1)
    assert "tfidf-lsa-svd128" in version
    assert f"ranked by: {version}" in result.stdout
    assert "trending fallback" not in result.stdout
    assert (tmp_path / "var" / "models" / f"model-{version}.joblib").exists()
    assert (tmp_path / "var" / "models" / "current").read_text().strip() == version
    assert "[matches: " in result.stdout

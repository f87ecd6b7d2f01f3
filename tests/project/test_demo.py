"""The README's first command on a clean state: migrate, then the demo job, on SQLite.

The demo ingests the sample papers, fits a real model on them, ranks them for a demo subscriber
and writes the digest to the outbox; the command names the model that ranked it.
"""

from __future__ import annotations

import email
import email.policy
import re

from tests.services import manage


def test_it_runs_the_whole_job_and_writes_a_digest_to_the_outbox(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DIGEST_VAR_DIR": str(tmp_path / "var")}
    manage(env, "migrate", "--noinput")
    result = manage(env, "demo", timeout=300)

    assert (tmp_path / "var" / "db.sqlite3").exists()
    assert "Done:" in result.stdout
    assert "picked for demo@example.com" in result.stdout

    fitted = re.search(r"Fitted model (\S+) on 996 papers", result.stdout)
    assert fitted, result.stdout
    version = fitted.group(1)
    assert "tfidf-lsa-svd128" in version
    assert f"ranked by: {version}" in result.stdout
    assert "trending fallback" not in result.stdout
    assert "[matches your keywords: " in result.stdout
    models = tmp_path / "var" / "models"
    assert (models / f"model-{version}.joblib").exists()
    assert (models / "current").read_text().strip() == version

    outbox = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "demo@example.com"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Why:" in text
    # The model's label is for operators (the command prints it), never for the reader.
    assert version not in text
    assert version not in html
    assert "<h1" in html
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3}: 10 papers.*", message["Subject"])

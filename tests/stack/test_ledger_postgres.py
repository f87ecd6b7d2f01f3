"""The ledger's bulk statements on PostgreSQL, which types a VALUES list from its rows (a
column of NULLs only would be text): the same cases as on SQLite, in a migrated database."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.delivery.ledger_statements import CLAIM_STATEMENTS, EXPECTED, EXPECTED_PENDING
from tests.services import PROJECT_ROOT, fresh_postgres_database, manage, production_env

SCRIPT = """
import json
import django
django.setup()
from tests.delivery.ledger_statements import exercise, exercise_pending
print(json.dumps({**exercise(), "pending": exercise_pending()}))
"""


def test_the_bulk_ledger_statements_on_postgresql(tmp_path):
    with fresh_postgres_database() as database_url:
        env = production_env(tmp_path, DATABASE_URL=database_url)
        manage(env, "migrate", "--noinput", timeout=600)
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out.pop("claim_statements") == CLAIM_STATEMENTS["postgresql"]  # one round trip
    assert out.pop("pending") == EXPECTED_PENDING
    assert out == EXPECTED

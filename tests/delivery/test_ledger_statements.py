"""The ledger's bulk UPDATE ... FROM (VALUES ...) statements on SQLite (PostgreSQL:
tests/stack/test_ledger_postgres.py runs the same cases)."""

from __future__ import annotations

import pytest

from tests.delivery.ledger_statements import CLAIM_STATEMENTS, EXPECTED, exercise


@pytest.mark.django_db
def test_the_bulk_ledger_statements_win_only_the_rows_still_as_expected():
    out = exercise()
    assert out.pop("claim_statements") == CLAIM_STATEMENTS["sqlite"]
    assert out == EXPECTED

"""The live server the browser tests drive must not share the test's database connection."""

from __future__ import annotations

from django.db import connection


def test_it_gives_the_live_server_threads_their_own_database_connections(live_server):
    # A shared in-memory SQLite connection deadlocks when two threads use it at once (see
    # django_db_modify_db_settings in tests/conftest.py); with a file, nothing is shared.
    assert not connection.is_in_memory_db()
    assert live_server.thread.connections_override == {}

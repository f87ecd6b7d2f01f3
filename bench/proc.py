"""CPU time of processes on this machine, read from /proc, for the benches that share the cores
with the services they measure."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(*, parent: int | None = None, name: str | None = None) -> float:
    """User + system CPU seconds used so far by the processes whose parent is `parent` or whose
    command name is `name` (e.g. "postgres": the server and every connection's backend), with
    what their children that already ended had used (so a PostgreSQL backend of a closed
    connection still counts, through the server that reaped it)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name is in parentheses and may hold spaces; after it come state,
            # ppid, ..., utime, stime, and the ended children's cutime and cstime (12th-15th).
            command, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # the process ended while we looked
            continue
        fields = rest.split()
        if (parent is not None and int(fields[1]) == parent) or (
            name is not None and command.split("(", 1)[1] == name
        ):
            total += sum(int(value) for value in fields[11:15])
    return total / tick


def redis_cpu_seconds() -> float:
    """CPU seconds the machine's Redis server has used so far (its own INFO section)."""
    import redis

    info = redis.Redis.from_url("redis://127.0.0.1:6379/0").info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def children_memory_mib(parent: int) -> list[dict[str, float]]:
    """Peak RSS (VmHWM), RSS and PSS in MiB of each live process whose parent is `parent` (a
    Celery worker's pool children). RSS counts pages shared with other processes (the
    memory-mapped model, libraries) in full; PSS counts each by its share."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            status = dict(
                line.split(":", 1) for line in (stat.parent / "status").read_text().splitlines()
            )
            rollup = dict(
                line.split(":", 1)
                for line in (stat.parent / "smaps_rollup").read_text().splitlines()[1:]
            )
        except (OSError, ValueError):  # the process ended while we looked
            continue
        found.append(
            {
                "peak": int(status["VmHWM"].split()[0]) / 1024,
                "rss": int(status["VmRSS"].split()[0]) / 1024,
                "pss": int(rollup["Pss"].split()[0]) / 1024,
            }
        )
    return found

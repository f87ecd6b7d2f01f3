"""How much a second process gets from this machine's second core: the same pure-Python loop in
one process, then in two at once, alternating. The ceiling for any 1 -> 2 worker speed-up here
(bench/worker_scaling.py), whatever the workers do.

    .venv/bin/python bench/cpu_parallelism.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

LOOP = 30_000_000


def spin(_: int) -> float:
    """Seconds for a fixed amount of pure-Python arithmetic."""
    started, total = time.perf_counter(), 0
    for i in range(LOOP):
        total += i * i
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    alone, together = [], []
    for _ in range(args.rounds):
        for processes, times in ((1, alone), (2, together)):
            with multiprocessing.Pool(processes) as pool:
                times += pool.map(spin, range(processes))
    print(f"one process alone:   {min(alone):.2f}-{max(alone):.2f} s")
    print(f"two processes at once: {min(together):.2f}-{max(together):.2f} s each")
    # Two processes do twice the work in the time each takes.
    speedup = 2 * (sum(alone) / len(alone)) / (sum(together) / len(together))
    print(f"work per second with two processes, on average: {speedup:.2f}x one process")


if __name__ == "__main__":
    main()

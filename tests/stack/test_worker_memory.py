from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings

# A block freed after a bigger one was: with glibc's default, the threshold has risen past its
# size, so it came from the heap and stays in the process once freed (a small block allocated
# after it keeps the heap from being trimmed).
SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from digest_site.celery import return_freed_memory

    def rss_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "pool-child":
        assert return_freed_memory()
    first = np.ones(24 * 2**20 // 8)
    del first
    block = np.ones(16 * 2**20 // 8)
    after = np.ones(1000)
    before = rss_mib()
    del block
    print(round(before - rss_mib()))
    """
)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_it_gives_a_freed_block_back_to_the_system_in_a_pool_child():
    def released(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, mode],
            env={"PYTHONPATH": str(settings.BASE_DIR), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout.strip().splitlines()[-1])

    assert released("default") < 2  # kept by the process
    assert released("pool-child") >= 15  # given back

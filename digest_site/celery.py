"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import ctypes
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

app = Celery("digest_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# glibc's M_MMAP_THRESHOLD (mallopt's parameter number), and the fixed value: blocks from 4 MiB
# up are mapped and given back when freed. glibc's own starting value (128 KiB) also maps a
# profile's 300 KB temporaries, which cost 10-20 % more CPU building profiles
# (bench/worker_memory.py, docs/benchmarks.md "Worker memory").
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 * 2**20


def return_freed_memory() -> bool:
    """Keep glibc's malloc giving large blocks back to the system when they are freed.

    By default glibc raises its mmap threshold to the size of each large block freed (up to
    32 MiB), so the next numpy temporaries of that size come from the heap, and once freed
    there they stay in the process. A fixed threshold turns that adjustment off. Returns
    False where the C library is not glibc (nothing is changed there)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


@worker_init.connect
@worker_process_init.connect
def _worker_memory(**_kwargs) -> None:
    # worker_init: the main process (and the solo pool); worker_process_init: each pool child.
    return_freed_memory()

"""Fixed-window rate limits over Django's cache (Redis in production, so shared by workers)."""

from __future__ import annotations

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest


def allow(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt for (scope, key); False once more than `limit` fell in this window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    bucket = int(time.time() // window)
    cache_key = f"ratelimit:{scope}:{digest}:{bucket}"
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _redis_count(backend, cache_key, window) <= limit
    # add() only creates the counter when missing, so concurrent first hits do not reset it.
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window + 1)
        count = 1
    return count <= limit


def _redis_count(backend: RedisCache, cache_key: str, window: int) -> int:
    # Django's RedisCache.incr() costs an EXISTS before the INCRBY, and add() one more round
    # trip; INCR + EXPIRE in one pipeline is a single round trip and just as atomic per key.
    key = backend.make_and_validate_key(cache_key)
    client = backend._cache.get_client(key, write=True)  # private, stable since Django 4.0
    pipeline = client.pipeline()
    pipeline.incr(key)
    pipeline.expire(key, window + 1, nx=True)
    count, _ = pipeline.execute()
    return int(count)


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address, or None when the request does not carry a valid one."""
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        candidate = forwarded or candidate
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None

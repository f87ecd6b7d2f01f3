"""The project's Redis client: one per process per server, with its connection pool.

The rate limiter and the sign-up queue talk to Redis directly (Lua scripts, lists); both use
the default cache's server so there is one Redis to configure.
"""

from __future__ import annotations

import functools
import re

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def redis_server() -> tuple[redis.Redis, RedisCache] | None:
    """A Redis client for the default cache's server (one per process) and the cache (for its
    key names), or None when the cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    # Django's RedisCache builds a new client object on every call (~0.15 ms of CPU); this one
    # is kept, with its connection pool.
    return client_for(redis_url()), backend


def redis_url() -> str:
    location = settings.CACHES["default"]["LOCATION"]
    servers = re.split("[;,]", location) if isinstance(location, str) else location
    return servers[0]  # Django's RedisCache writes to the first server: so do we


@functools.cache
def client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **settings.REDIS_CLIENT_OPTIONS)

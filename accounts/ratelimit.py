"""Fixed-window rate limits over Django's cache (Redis in production, so shared by workers)."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from digest_site.redis_client import client_for, redis_server, redis_url

# Counts one attempt against each limit in order and stops at the first one exceeded, so a
# refused attempt is not counted against the limits after it. When none is exceeded and a list
# key follows the counters, appends a value to that list: a request that passes its limits can
# queue its work in the same round trip. Returns {index of the exceeded limit or 0, list length}.
# KEYS: the counters, then the list if any. ARGV: the number of counters, then limit and expiry
# of each counter, then the value to append.
_COUNT_SCRIPT = """
local counters = tonumber(ARGV[1])
for i = 1, counters do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 1])
  end
  if count > tonumber(ARGV[2 * i]) then
    return {i, 0}
  end
end
if #KEYS > counters then
  return {0, redis.call('RPUSH', KEYS[counters + 1], ARGV[2 * counters + 2])}
end
return {0, 0}
"""


@dataclass(frozen=True)
class Limit:
    """At most `limit` attempts per `window` seconds for one key (an IP, an address) in a scope."""

    scope: str
    key: str
    limit: int
    window: int

    def cache_key(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"ratelimit:{self.scope}:{digest}:{int(time.time() // self.window)}"


def allow(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt for (scope, key); False once more than `limit` fell in this window."""
    return first_exceeded(Limit(scope, key, limit, window)) is None


def allow_live_check(request: HttpRequest, scope: str) -> bool:
    """One more as-you-type lookup (the live preview, the paste check) from this client's
    address, under the PREVIEW_LIMIT_* budget that those cheap read-only endpoints share."""
    return allow(
        scope,
        client_ip(request) or "no-ip",
        limit=settings.PREVIEW_LIMIT_PER_IP,
        window=settings.PREVIEW_LIMIT_WINDOW_SECONDS,
    )


def first_exceeded(*limits: Limit) -> Limit | None:
    """Count one attempt against each limit in order, stopping at the first one exceeded, which
    is returned (None when every limit allowed the attempt). One round trip on Redis."""
    exceeded, _ = count_then_append(limits)
    return exceeded


def count_then_append(
    limits: tuple[Limit, ...] | list[Limit], append: tuple[str, str] | None = None
) -> tuple[Limit | None, int]:
    """first_exceeded(), and when no limit is exceeded also append `append` = (cache key of a
    list, value) to that Redis list, in the same round trip. Returns the exceeded limit (or
    None) and the list's length after the append (0 when nothing was appended)."""
    server = redis_server()
    if server is None:
        if append is not None:
            raise ValueError("appending to a list needs the Redis cache")
        return next((limit for limit in limits if not _count_in_cache(limit)), None), 0
    _, backend = server
    keys = [backend.make_and_validate_key(limit.cache_key()) for limit in limits]
    args: list[int | str] = [len(limits)]
    for limit in limits:
        args += [limit.limit, limit.window + 1]
    if append is not None:
        keys.append(backend.make_and_validate_key(append[0]))
        args.append(append[1])
    index, length = _count_script(redis_url())(keys=keys, args=args)
    return (limits[index - 1] if index else None), int(length)


@functools.cache
def _count_script(url: str):
    # EVALSHA with the script's digest; redis-py loads the script again after a server restart.
    return client_for(url).register_script(_COUNT_SCRIPT)


def _count_in_cache(limit: Limit) -> bool:
    cache_key = limit.cache_key()
    # add() only creates the counter when missing, so concurrent first hits do not reset it.
    cache.add(cache_key, 0, timeout=limit.window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=limit.window + 1)
        count = 1
    return count <= limit.limit


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

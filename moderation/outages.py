"""When the cache (Redis, in production) is down, the database stays the source of truth: a
cache error is logged and treated as a miss, a rate limit fails open, and the request goes on.
The per-IP rate limit is the only thing lost for the outage; flood control, in the database,
still holds."""

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a cache backend raises when its server is gone (redis-py's errors; a socket's OSError).
CACHE_ERRORS = (RedisError, OSError)


def cache_get(key: str):
    """The cached value, or None when it is missing or the cache is down."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as error:
        _log(error)
        return None


def cache_set(key: str, value, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as error:
        _log(error)


def cache_add(key: str, value, timeout: float) -> bool:
    """True if the key was added, or if the cache is down (so the caller acts, as if first)."""
    try:
        return cache.add(key, value, timeout)
    except CACHE_ERRORS as error:
        _log(error)
        return True


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except CACHE_ERRORS as error:
        _log(error)


def _log(error: Exception) -> None:
    # The type only: a message may name the server's address, never a reader's.
    logger.warning("Cache unavailable (%s): going on without it", type(error).__name__)


class FailOpenThrottle:
    """A DRF throttle (mixed in first) that lets the request through while the cache is down:
    a reader's comment, or another site's check, matters more than the limit."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as error:
            logger.warning("Rate limit not applied, cache unavailable (%s)", type(error).__name__)
            return True

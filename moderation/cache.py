"""The shared cache (Redis, in production), failing open, and what requests take from it.

When the cache (Redis, in production) is down, the database stays the source of truth: a
cache error is logged and treated as a miss, a rate limit fails open, and the request goes on.
The per-IP rate limit is the only thing lost for the outage; flood control, in the database,
still holds.

What requests take about an article from the cache instead of the database.

- The article a POST goes to, for REPLYGUARD_ARTICLE_CACHE_SECONDS: only whether it takes
  comments is read from it. With the per-process default cache, other processes see a change
  within that time.
- A thread page's (article id, thread version), for REPLYGUARD_THREAD_VERSION_SECONDS, and only
  with a cache every process shares (Redis): the version is what a 304 and a cached page
  answer from, and the worker that moves it must reach every web process. services moves a
  version only through thread_versions_moved, which forgets it at once and again once the
  change commits (a reader who read the old version in between may keep it that long).

A save or delete of the article forgets both (moderation.apps)."""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from articles.models import Article

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


class SlidingWindowThrottle(SimpleRateThrottle):
    """DRF's sliding window, on Redis in one round trip (a script: drop the requests that left
    the window, count, add this one) instead of a GET and a SET of a pickled list; two
    requests at once can no longer both pass as the last one allowed. Elsewhere (the embedded
    default's per-process cache) it is DRF's own. Below ScopedRateThrottle in a class's bases,
    which picks the rate first."""

    def allow_request(self, request, view):
        backend = caches["default"]  # `cache` is only its proxy
        if not isinstance(backend, RedisCache):
            return super().allow_request(request, view)
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        self.now = self.timer()
        key = backend.make_and_validate_key(f"window:{key}")  # not DRF's list under its key
        client = backend._cache.get_client(key, write=True)  # Django's client for this key
        allowed, oldest = _sliding_window(client)(
            keys=[key],
            args=[self.now, self.duration, self.num_requests, f"{self.now}:{uuid.uuid4().hex}"],
            client=client,
        )
        # DRF's wait() reads the history: when the window is full, the next request frees
        # when its oldest leaves it.
        self.history = [] if allowed else [float(oldest)] * self.num_requests
        return bool(allowed)


# KEYS[1]: a sorted set of one client's requests (score: when). ARGV: now, window (s), limit,
# a unique member. Returns {1, 0} and adds the request, or {0, the oldest request's time}.
_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[2]))
return {1, 0}
"""


_scripts = {}


def _sliding_window(client):
    """The script, registered once per process (redis-py sends it by its SHA1: EVALSHA)."""
    if "window" not in _scripts:
        _scripts["window"] = client.register_script(_SLIDING_WINDOW)
    return _scripts["window"]


# --- Articles and their thread versions ---------------------------------------------------------


def _key(slug: str) -> str:
    return f"replyguard:article:{slug}"


def _version_key(slug: str) -> str:
    return f"replyguard:thread-version:{slug}"


def cached_article(slug: str) -> Article | None:
    if not settings.REPLYGUARD_ARTICLE_CACHE_SECONDS:
        return None
    return cache_get(_key(slug))


def article_remember(article: Article) -> None:
    if settings.REPLYGUARD_ARTICLE_CACHE_SECONDS:
        cache_set(_key(article.slug), article, settings.REPLYGUARD_ARTICLE_CACHE_SECONDS)


@dataclass(frozen=True)
class ThreadVersion:
    pk: int
    thread_version: int


def _versions_cached() -> bool:
    return settings.REPLYGUARD_CACHE_SHARED and settings.REPLYGUARD_THREAD_VERSION_SECONDS > 0


def thread_version(slug: str) -> ThreadVersion | None:
    """The article's id and thread version, None if there is no such article."""
    if _versions_cached() and (cached := cache_get(_version_key(slug))) is not None:
        return ThreadVersion(*cached)
    row = Article.objects.filter(slug=slug).values_list("pk", "thread_version").first()
    if row is None:
        return None
    if _versions_cached():  # add, not set: a newer version written meanwhile stays
        cache_add(_version_key(slug), row, settings.REPLYGUARD_THREAD_VERSION_SECONDS)
    return ThreadVersion(*row)


def thread_versions_moved(article_ids) -> None:
    """These articles' thread versions moved (in the current transaction)."""
    if not _versions_cached():
        return
    keys = [
        _version_key(slug)
        for slug in Article.objects.filter(pk__in=article_ids).values_list("slug", flat=True)
    ]
    for key in keys:
        cache_delete(key)
    transaction.on_commit(lambda: [cache_delete(key) for key in keys])


def article_forget(sender, instance: Article, **signal) -> None:
    cache_delete(_key(instance.slug))
    cache_delete(_version_key(instance.slug))

"""The article a POST goes to, kept in the cache for REPLYGUARD_ARTICLE_CACHE_SECONDS: only
whether it takes comments is read from it (its thread version and storm state are read fresh
wherever they count). A save or delete of the article forgets it (moderation.apps); with the
per-process default cache, the other processes see a change within that time."""

from django.conf import settings

from articles.models import Article
from moderation.outages import cache_delete, cache_get, cache_set


def _key(slug: str) -> str:
    return f"replyguard:article:{slug}"


def article_cached(slug: str) -> Article | None:
    if not settings.REPLYGUARD_ARTICLE_CACHE_SECONDS:
        return None
    return cache_get(_key(slug))


def article_remember(article: Article) -> None:
    if settings.REPLYGUARD_ARTICLE_CACHE_SECONDS:
        cache_set(_key(article.slug), article, settings.REPLYGUARD_ARTICLE_CACHE_SECONDS)


def article_forget(sender, instance: Article, **signal) -> None:
    cache_delete(_key(instance.slug))

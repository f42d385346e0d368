"""A page of an article's published threads, as readers fetch it. Whatever changes what readers
see moves the article's thread_version on (moderation.services), so the version alone tells
whether a reader's copy is current (ETag -> 304), and each page is rendered once per version,
then served from the cache. With a shared cache the version comes from it too
(moderation.cache): a 304 or a cached page then takes no query at all."""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control

from moderation.cache import ThreadVersion, cache_get, cache_set

# Every query parameter a thread page reads (the list's order and the pagination's).
THREAD_PAGE_PARAMETERS = ("order", "page", "page_size")


def thread_page_response(
    request, article: ThreadVersion, render: Callable[[], bytes]
) -> HttpResponse:
    """A 304 if the reader's copy is current, else the page: cached, or `render`ed."""
    etag = f'"{article.pk}.{article.thread_version}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        content = _cached_page(request, etag, render)
        response = HttpResponse(content, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, no_cache=True)  # ask each time: the answer is a cheap 304
    return response


def _cached_page(request, version: str, render: Callable[[], bytes]) -> bytes:
    seconds = settings.REPLYGUARD_THREAD_CACHE_SECONDS
    # Keyed on what the page depends on: scheme and host (its links are absolute) and the
    # parameters the view reads. Any other parameter (?cb=1, ?cb=2 ...) is ignored, so it
    # cannot make a new cache entry and a full render per request.
    read = [(name, request.GET.get(name, "")) for name in THREAD_PAGE_PARAMETERS]
    where = (request.scheme, request.get_host())
    page = hashlib.sha256(repr((where, read)).encode()).hexdigest()
    key = f"replyguard:threads:{version}:{page}"
    content = cache_get(key) if seconds else None
    if content is None:  # a miss, or the cache is down: render from the database
        content = render()
        if seconds:
            cache_set(key, content, seconds)
    return content

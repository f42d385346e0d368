import logging

from corsheaders.conf import conf as cors_conf
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.db import InterfaceError, OperationalError

from config.errors import error_answer
from moderation.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class ServiceUnavailableMiddleware:
    """A database outage, or a cache outage on a path that cannot do without the cache, answers
    503 in JSON with Retry-After instead of a 500 page. Nothing else is needed to recover:
    Django drops a broken connection at the end of the request (CONN_HEALTH_CHECKS) and the next
    request connects afresh; redis-py reconnects on its next command."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError, *CACHE_ERRORS)):
            return None
        logger.error("%s: answering 503", type(exception).__name__)
        return error_answer(
            request,
            503,
            "The service is briefly unavailable. Please try again in a moment.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class CanonicalOriginCorsMiddleware(CorsMiddleware):
    """django-cors-headers matches an Origin by its scheme and host alone, so
    "https://news.example/" passed for "https://news.example" and was echoed back. A browser
    sends its origin exactly, lowercase and without a path: only that form of a listed origin
    is one."""

    def origin_found_in_white_lists(self, origin, url) -> bool:
        return origin in {listed.lower() for listed in cors_conf.CORS_ALLOWED_ORIGINS}


class RequestSizeLimitMiddleware:
    """413 for a request whose declared size is over REPLYGUARD_MAX_REQUEST_BYTES, before
    anything reads it; 411 for a chunked body, which declares no size (Django reads a request
    body by its Content-Length, so a chunked one would be read as empty and the comment lost
    without a word). Browsers send a Content-Length with every form or fetch body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and "CONTENT_LENGTH" not in request.META:
            return error_answer(request, 411, "Send the body with a Content-Length, not chunked.")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_answer(request, 400, "Invalid Content-Length header.")
        limit = settings.REPLYGUARD_MAX_REQUEST_BYTES
        if declared > limit:
            return error_answer(request, 413, f"Requests are limited to {limit} bytes.")
        return self.get_response(request)

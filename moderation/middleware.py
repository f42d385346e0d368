import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """A database outage answers 503 in JSON with Retry-After instead of a 500 page. Nothing else
    is needed to recover: Django drops a broken connection at the end of the request
    (CONN_HEALTH_CHECKS) and the next request connects afresh."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable (%s): answering 503", type(exception).__name__)
        return JsonResponse(
            {"detail": "The service is briefly unavailable. Please try again in a moment."},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

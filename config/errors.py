"""Errors answered outside DRF's views: JSON under /api/ (a widget or client parses every
answer), plain text under /1.1/ (Akismet's clients read nothing else), Django's own pages
elsewhere (the admin is read by people). Nothing of the request is echoed: an error page must
not carry back a reader's address or a probe's payload."""

import logging

from django.http import HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"
AKISMET_PREFIX = "/1.1/"


def error_answer(request, status: int, detail: str, headers=None) -> HttpResponse:
    """An error in the form its client reads: plain text under /1.1/, JSON anywhere else."""
    if request.path.startswith(AKISMET_PREFIX):
        plain = "text/plain; charset=utf-8"
        return HttpResponse(detail, content_type=plain, status=status, headers=headers)
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def _api_or(page, status: int, detail: str):
    def handler(request, exception=None):
        if request.path.startswith((API_PREFIX, AKISMET_PREFIX)):
            return error_answer(request, status, detail)
        return page(request, exception) if exception is not None else page(request)

    return handler


bad_request = _api_or(defaults.bad_request, 400, "Bad request.")
permission_denied = _api_or(defaults.permission_denied, 403, "Forbidden.")
page_not_found = _api_or(defaults.page_not_found, 404, "Not found.")
server_error = _api_or(defaults.server_error, 500, "Server error. The request was logged.")


class RefusedHostNotLogged(logging.Filter):
    """Django logs a refused Host header word for word; a client that puts its key in the host
    name (Akismet's KEY.rest.akismet.com form) would leave the key in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "Refused a request for a host not in ALLOWED_HOSTS (the host is not logged)."
        # The traceback's exception quotes the host too, and says nothing more.
        record.args, record.exc_info, record.exc_text = (), None, None
        return True

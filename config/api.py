"""What every API view shares, whichever app it is in: the error body, pagination, the
exception handler that turns errors into that body, and the client's address."""

import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler

# The body of every 4xx: each field at fault with its messages, or `detail` for the request.
ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"author_email": ["Enter a valid email address."]},
}
DETAIL = inline_serializer("Detail", fields={"detail": serializers.CharField()})


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        # Read per request: both sizes are settings a newsroom (or a test) can tune.
        self.page_size = settings.REPLYGUARD_PAGE_SIZE
        self.max_page_size = settings.REPLYGUARD_MAX_PAGE_SIZE
        return super().get_page_size(request)


def api_exception_handler(exc, context):
    """DRF's, plus: a model's ValidationError (what full_clean checks beyond the serializer) is
    a 400 naming its fields, and no value of the request is echoed (DRF's 415 names the
    Content-Type sent). Services raise DRF exceptions for what a reader can be told, so views
    need no try/except."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, UnsupportedMediaType):
        exc = UnsupportedMediaType(
            "", detail="Send the body as JSON: Content-Type: application/json."
        )
    return exception_handler(exc, context)


def client_ip(request) -> str | None:
    """The client's address as the trusted proxies report it (DRF's throttle logic knows how
    many to trust: REST_FRAMEWORK["NUM_PROXIES"]), with a port or brackets dropped; the
    socket's address if what they sent is no address at all."""
    reported = BaseThrottle().get_ident(request)
    return ip_address_or_none(reported) or ip_address_or_none(request.META.get("REMOTE_ADDR"))


def ip_address_or_none(value: str | None) -> str | None:
    """'203.0.113.201:5678' -> '203.0.113.201', '[2001:db8::1]:443' -> '2001:db8::1'."""
    value = (value or "").strip()
    if value.startswith("["):  # [IPv6] or [IPv6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4:port (a bare IPv6 address has two colons or more)
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None

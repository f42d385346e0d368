"""Bot checks on the comment form: a honeypot field and a minimum time from form load to submit,
timed by a signed token the form fetches. A comment that fails either is filed as spam and
answered like any other (202): a bot that learns nothing cannot adapt, and a real reader caught
by mistake (a browser autofilling the hidden field) is one click from rescue in the queue."""

import secrets
import time
from typing import NamedTuple

from django.conf import settings
from django.core import signing

SALT = "replyguard.comment-form"
HONEYPOT_FIELD = "homepage"


class InvalidFormToken(Exception):
    """Tampered with, expired, or issued for another article: the reader should reload."""


class FormToken(NamedTuple):
    age: float  # seconds since the form loaded
    nonce: str  # stored with the comment it was sent with: a token serves one comment


def form_token_issue(*, article_slug: str) -> str:
    nonce = secrets.token_urlsafe(12)
    return signing.dumps(
        {"article": article_slug, "issued": time.time(), "nonce": nonce}, salt=SALT
    )


def form_token_read(token: str, *, article_slug: str) -> FormToken:
    """The token's age and nonce, or InvalidFormToken."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.REPLYGUARD_FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidFormToken("The form is too old: reload the page.") from None
    except signing.BadSignature:
        raise InvalidFormToken("Invalid form token: reload the page.") from None
    if not isinstance(data, dict) or data.get("article") != article_slug:
        raise InvalidFormToken("This form token is for another article: reload the page.")
    if not data.get("nonce"):  # issued before tokens were single-use
        raise InvalidFormToken("Invalid form token: reload the page.")
    return FormToken(age=time.time() - float(data["issued"]), nonce=str(data["nonce"]))


def bot_check_reason(*, honeypot: str, form_age: float | None) -> str:
    """Why this submission looks like a bot, or "" if it doesn't."""
    if honeypot:
        return "Bot check: the hidden honeypot field was filled."
    minimum = settings.REPLYGUARD_MIN_SUBMIT_SECONDS
    if form_age is not None and form_age < minimum:
        return f"Bot check: sent {form_age:.1f} s after the form loaded (minimum {minimum:g} s)."
    return ""

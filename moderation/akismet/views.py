"""The Akismet REST API 1.1, answered by ReplyGuard's own rules, model and moderators: form-encoded
POSTs in, `text/plain` out, as every Akismet client expects (rest.akismet.com's protocol).
The views parse the form and present the answer; moderation.akismet.checks does the work."""

import ipaddress
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from rest_framework.throttling import SimpleRateThrottle

from config.api import client_ip
from moderation.akismet.checks import (
    Submission,
    external_check_run,
    external_label_record,
    site_for,
)
from moderation.cache import CACHE_ERRORS, FailOpenThrottle, SlidingWindowThrottle
from moderation.models import ExternalCheck
from moderation.posters import poster_network

THANKS = "Thanks for making the web a better place."
# What a reader typed, and the key: never in an error report's copy of the request.
PRIVATE_FIELDS = ("key", "api_key", "user_ip", "comment_author_email", "user_agent")
TRUE_VALUES = {"1", "true", "yes", "on"}
# Old clients put the key in the host name: KEY.rest.example. Our keys are 32 hex characters.
HOST_KEY = re.compile(r"[0-9a-f]{32}")


def plain(text: str, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def missing(field: str) -> HttpResponse:
    return plain(
        f"Missing required field: {field}.",
        X_akismet_debug_help=f"Send {field} with every request; see docs/akismet.md.",
    )


def invalid_key() -> HttpResponse:
    return plain(
        "invalid",
        X_akismet_debug_help="The key is unknown or inactive, or the blog is not one of its "
        "sites. A newsroom moderator can check the key in the admin (Site keys).",
    )


def request_key(request, field: str) -> str:
    """The key from the form, or else from the host name's first label."""
    key = request.POST.get(field, "").strip()
    if not key:
        label = request.get_host().split(".", 1)[0].lower()
        key = label if HOST_KEY.fullmatch(label) else ""
    return key


class SiteKeyThrottle(FailOpenThrottle, SlidingWindowThrottle):
    """REPLYGUARD_RATE_AKISMET per site key."""

    scope = "akismet"

    def __init__(self, site_id: int):
        self.site_id = site_id
        self.rate = settings.REPLYGUARD_RATE_AKISMET
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.site_id}


class SiteKeyWorkThrottle:
    """REPLYGUARD_RATE_AKISMET_CHARS per site key: the text its checks had scored, counted in
    fixed windows in the cache. Eight connections of 5,000-character checks at 9/s, far under
    the request limit, raised readers' thread reads from a 7 ms to a 785 ms median."""

    def __init__(self, site_id: int):
        amount, period = settings.REPLYGUARD_RATE_AKISMET_CHARS.split("/")
        self.limit = int(amount)
        self.seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]
        self.site_id = site_id

    def spend(self, characters: int) -> int:
        """Count these characters; 0 if within the key's budget, else the seconds to wait."""
        now = time.time()
        window = int(now // self.seconds)
        key = f"throttle_akismet_chars_{self.site_id}_{window}"
        try:
            cache.add(key, 0, timeout=self.seconds * 2)
            spent = cache.incr(key, characters)
        except (*CACHE_ERRORS, ValueError):  # fail open, as every limit here
            return 0
        return 0 if spent <= self.limit else int((window + 1) * self.seconds - now) + 1


class FailedKeyThrottle(FailOpenThrottle, SimpleRateThrottle):
    """REPLYGUARD_RATE_AKISMET_FAILED_KEYS per client network. Only failed keys count
    (failure()); a client over the limit is refused before its key is looked at (refused())."""

    scope = "akismet_failed_key"

    def __init__(self):
        self.rate = settings.REPLYGUARD_RATE_AKISMET_FAILED_KEYS
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": poster_network(client_ip(request)) or "unknown",
        }

    def refused(self, request) -> bool:
        try:
            self.key = self.get_cache_key(request, None)
            self.now = self.timer()
            history = self.cache.get(self.key, [])
        except CACHE_ERRORS:  # fail open, as every limit here
            return False
        self.history = [at for at in history if at > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def failure(self, request) -> None:
        self.allow_request(request, None)  # records one, as a request within the limit

    def answer(self) -> HttpResponse:
        wait = int(self.wait() or 1) + 1
        return plain("Too many failed keys: try again later.", 429, Retry_After=str(wait))


def site_or_refusal(request, *, key: str, blog: str):
    """(the site this key belongs to, None), or (None, the answer): `invalid` for a key that is
    not this blog's, which counts against the client's failed keys, or 429 past their limit."""
    failed = FailedKeyThrottle()
    if failed.refused(request):
        return None, failed.answer()
    site = site_for(key=key, blog=blog)
    if site is None:
        failed.failure(request)
        return None, invalid_key()
    return site, None


def site_request(view):
    """Check the key, the blog and user_ip, and the key's rate, then call view(request, site,
    submission). Every answer is text, as Akismet's are."""

    @csrf_exempt
    @require_POST
    @sensitive_post_parameters(*PRIVATE_FIELDS)
    def wrapper(request):
        form = request.POST
        key = request_key(request, "api_key")
        if not key:
            return missing("api_key")
        for field in ("blog", "user_ip"):
            if not form.get(field, "").strip():
                return missing(field)
        site, refusal = site_or_refusal(request, key=key, blog=form["blog"])
        if refusal is not None:
            return refusal
        throttle = SiteKeyThrottle(site.pk)
        if not throttle.allow_request(request, None):
            wait = int(throttle.wait() or 1) + 1
            return plain("Rate limit exceeded.", 429, Retry_After=str(wait))
        try:
            submission = submission_from(form)
        except ValueError:
            return plain(
                "Invalid field: user_ip.", X_akismet_debug_help="user_ip must be an IP address."
            )
        return view(request, site, submission)

    return wrapper


def submission_from(form) -> Submission:
    """The fields we read, cut to what we store; every other field is accepted and ignored.
    Raises ValueError for a user_ip that is no IP address."""

    def text(name: str, limit: int) -> str:
        return clean(form.get(name, "")).strip()[:limit]

    honeypot = form.get("honeypot_field_name", "").strip()
    return Submission(
        blog=text("blog", 200),
        user_ip=str(ipaddress.ip_address(form["user_ip"].strip())),
        user_agent=text("user_agent", 512),
        author_name=text("comment_author", 100),
        author_email=text("comment_author_email", 254),
        author_url=text("comment_author_url", 200),
        # Cut as our own API limits a comment: the cost of scoring grows with the text.
        body=clean(form.get("comment_content", ""))[: settings.REPLYGUARD_BODY_MAX_LENGTH],
        permalink=text("permalink", 500),
        comment_type=text("comment_type", 40),
        user_role=text("user_role", 40),
        is_test=form.get("is_test", "").strip().lower() in TRUE_VALUES,
        honeypot_filled=bool(honeypot and form.get(honeypot, "").strip()),
        recheck=bool(form.get("recheck_reason", "").strip()),
    )


def clean(value: str) -> str:
    # NUL: no database text column takes it (PostgreSQL refuses it), and no reader typed it.
    return value.replace("\x00", "")


@csrf_exempt
@require_POST
@sensitive_post_parameters(*PRIVATE_FIELDS)
def verify_key(request):
    key, blog = request_key(request, "key"), request.POST.get("blog", "").strip()
    if not key:
        return missing("key")
    if not blog:
        return missing("blog")
    _, refusal = site_or_refusal(request, key=key, blog=blog)
    return plain("valid") if refusal is None else refusal


@site_request
def comment_check(request, site, submission):
    wait = SiteKeyWorkThrottle(site.pk).spend(submission.scored_characters())
    if wait:
        return plain("Rate limit exceeded: too much text checked.", 429, Retry_After=str(wait))
    check = external_check_run(site=site, submission=submission)
    headers = {"X_akismet_guid": str(check.guid)}
    if check.discard:
        headers["X_akismet_pro_tip"] = "discard"
    return plain("true" if check.spam else "false", **headers)


@site_request
def submit_spam(request, site, submission):
    external_label_record(site=site, submission=submission, label=ExternalCheck.Label.SPAM)
    return plain(THANKS)


@site_request
def submit_ham(request, site, submission):
    external_label_record(site=site, submission=submission, label=ExternalCheck.Label.HAM)
    return plain(THANKS)

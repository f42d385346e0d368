"""Flood control and duplicates: what a poster's recent comments say about a new one. Reads
only; services.comment_create runs it under the poster's lock, just before the INSERT."""

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import APIException, Throttled

from moderation.models import Cause, Comment, Verdict

Status = Comment.Status


# Raised as DRF exceptions: what the poster is told (429 with Retry-After, 409) is theirs.
class Flooding(Throttled):
    """Too soon after this poster's previous comment."""

    default_detail = "One comment at a time: wait a few seconds before posting again."


class DuplicateComment(APIException):
    """The same poster posted the same text recently."""

    status_code = 409
    default_detail = {"body": ["You have already posted this comment."]}


def poster_lock(poster_network: str | None) -> None:
    """Hold this address's lock until the transaction ends, so its flood and duplicate checks
    and its INSERT run one request at a time. PostgreSQL: an advisory lock on the address;
    SQLite needs none (its IMMEDIATE transactions already run one at a time)."""
    if poster_network and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [poster_network]
            )


def poster_recent_check(*, author_email: str, poster_network: str | None, body_fingerprint: str):
    """What the poster's recent comments say, in one query. What the poster controls, their IP
    address (an IPv6 one by its /64: poster_network), answers: Flooding (429) if it posted
    within REPLYGUARD_FLOOD_SECONDS, then DuplicateComment (409) if it posted this text within
    the duplicate window. The email is anyone's to type, so it never changes the answer (that
    was an oracle for a reader's private address): a comment too soon after its email's last
    one gets a floor of held (a Verdict the worker applies under any stricter one), else None.
    A repeat of a recent text from another address is the worker's to find, whoever's email
    it carries (scoring.recent_copies)."""
    now = timezone.now()
    window = timedelta(hours=settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS)
    flood = timedelta(seconds=settings.REPLYGUARD_FLOOD_SECONDS)
    if not window and not flood:
        return None
    found = _poster_recent(
        ip=poster_network,
        email=author_email,
        fingerprint=body_fingerprint,
        repeats_since=now - window,
        flood_since=now - flood,
        since=now - max(window, flood),
    )
    if not window:
        found |= {"ip_repeats": 0}
    if not flood:
        found |= {"ip_latest": None, "email_latest": None}
    if found.get("ip_latest") is not None:
        wait = (found["ip_latest"] + flood - now).total_seconds()
        raise Flooding(wait=max(1, math.ceil(wait)))
    if found.get("ip_repeats"):
        raise DuplicateComment
    if found.get("email_latest") is not None:
        reason = "Too soon after its email's last comment, from another address."
        return Verdict(Status.HELD, Cause.FLOOD, reason)
    return None


# Written out, not built with the ORM: it runs in every POST, and compiling the filtered
# aggregates cost more than PostgreSQL spent answering (a profile of POSTs under load: 20% of
# a web process against 10% waiting for this query). It reads the poster's own rows only, each
# side on its own index (IP or email, then time): a branch on time alone ("anyone in the last
# seconds") read every comment of the flood window, thousands under load, on each POST. Both
# branches read back to `since` (the longer window): with the email's back to the flood window
# only, PostgreSQL took the time index for it, estimating no rows newer than its statistics.
POSTER_RECENT = """
SELECT
    count(*) FILTER (WHERE poster_network = %(ip)s AND created_at >= %(repeats_since)s
                     AND body_fingerprint = %(fingerprint)s),
    max(created_at) FILTER (WHERE poster_network = %(ip)s AND created_at > %(flood_since)s),
    max(created_at) FILTER (WHERE author_email = %(email)s AND created_at > %(flood_since)s)
FROM moderation_comment
WHERE (poster_network = %(ip)s AND created_at >= %(since)s)
   OR (author_email = %(email)s AND created_at >= %(since)s)
"""


def _poster_recent(**values) -> dict:
    as_sql = connection.ops.adapt_datetimefield_value
    params = {k: as_sql(v) if isinstance(v, datetime) else v for k, v in values.items()}
    with connection.cursor() as cursor:
        cursor.execute(POSTER_RECENT, params)
        ip_repeats, ip_latest, email_latest = cursor.fetchone()
    return {
        "ip_repeats": ip_repeats,
        "ip_latest": _datetime(ip_latest),
        "email_latest": _datetime(email_latest),
    }


def _datetime(value) -> datetime | None:
    # PostgreSQL answers a datetime; SQLite the text Django stored (UTC).
    if isinstance(value, str):
        return parse_datetime(value).replace(tzinfo=UTC)
    return value


def recent_copies(comments: list[Comment]) -> set[int]:
    """The ids of these comments that repeat, exactly (rules.text_fingerprint), the text of an
    earlier comment within the duplicate window, whoever's email either carries: the same
    text from the same address was refused at POST; from another, it is held for a moderator
    whether the email was its author's or a guess (telling them apart was an oracle)."""
    hours = settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS
    long_enough = [
        c
        for c in comments
        if c.body_fingerprint and len(c.body) >= settings.REPLYGUARD_DUPLICATE_MIN_CHARS
    ]  # no fingerprint (a row written past comment_create): unknown, not everyone's copy
    if not hours or not long_enough:
        return set()
    since = min(c.created_at for c in long_enough) - timedelta(hours=hours)
    earlier = (
        Comment.objects.filter(
            body_fingerprint__in={c.body_fingerprint for c in long_enough}, created_at__gte=since
        )
        .exclude(pk__in=[c.pk for c in comments])
        .values_list("body_fingerprint", "created_at")
    )
    times: dict[str, list] = {}
    for fingerprint, created_at in earlier:
        times.setdefault(fingerprint, []).append(created_at)
    window, copies = timedelta(hours=hours), set()
    for comment in sorted(long_enough, key=lambda c: (c.created_at, c.pk)):
        seen = times.setdefault(comment.body_fingerprint, [])
        if any(comment.created_at - window <= t <= comment.created_at for t in seen):
            copies.add(comment.pk)
        seen.append(comment.created_at)
    return copies

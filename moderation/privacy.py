"""A reader's private data: export and erasure on request, and IP addresses cut to their
network once they are no longer needed for abuse control."""

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat, Replace
from django.utils import timezone

from moderation import domains
from moderation.models import (
    AuthorDataRequest,
    Comment,
    Decision,
    ExternalCheck,
    Report,
)
from moderation.posters import network_address, private_sha256
from moderation.services import campaign_index_forget, comments_update

ERASED_NAME = "Anonymous"
ERASED_WEBSITE = "[erased website]"
REMOVED_BODY = "[Removed at the author's request.]"
EXPORTED_FIELDS = [
    "id",
    "article__slug",
    "parent_id",
    "author_name",
    "author_email",
    "author_url",
    "body",
    "status",
    "created_at",
    "published_at",
    "ip_address",
    "user_agent",
    # What the service made of it: the moderator reads these beside the comment.
    "spam_score",
    "spam_reasons",
    "cause",
    "rule_hits",
    "decided_at",
]


def author_comments(email: str):
    return Comment.objects.filter(author_email__iexact=email.strip())


def author_export(*, email: str, done_by=None) -> dict:
    """Everything stored about this email's comments, as JSON-ready data."""
    comments = list(author_comments(email).order_by("created_at").values(*EXPORTED_FIELDS))
    decisions = Decision.objects.filter(comment__in=author_comments(email)).order_by("id")
    decided = {}
    for d in decisions.values("comment_id", "from_status", "to_status", "reason", "created_at"):
        d["created_at"] = d["created_at"].isoformat()
        decided.setdefault(d.pop("comment_id"), []).append(d)
    for comment in comments:
        comment["article"] = comment.pop("article__slug")
        comment["parent"] = comment.pop("parent_id")
        for field in ("created_at", "published_at", "decided_at"):
            comment[field] = comment[field] and comment[field].isoformat()
        comment["decisions"] = decided.get(comment["id"], [])
    reports = [
        {"comment": r.comment_id, "reason": r.reason, "created_at": r.created_at.isoformat()}
        for r in author_reports(email).order_by("created_at")
    ]
    AuthorDataRequest.objects.create(
        kind=AuthorDataRequest.Kind.EXPORT,
        email_sha256=private_sha256(email),
        comments=len(comments),
        done_by=done_by,
    )
    checks = [
        {field: _json_ready(value) for field, value in check.items()}
        for check in author_external_checks(email).order_by("created_at").values(*CHECK_FIELDS)
    ]
    return {
        "email": email.strip(),
        "comments": comments,
        "reports": reports,
        "external_checks": checks,
    }


# Another site's check of this email's comment (the Akismet-compatible API), as stored.
CHECK_FIELDS = [
    "guid",
    "site__name",
    "created_at",
    "blog",
    "permalink",
    "author_name",
    "author_email",
    "author_url",
    "body",
    "ip_address",
    "user_agent",
    "status",
    "spam_score",
    "spam_reasons",
    "rule_hits",
    "spam",
    "label",
]


def _json_ready(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def author_external_checks(email: str):
    if not email.strip():  # a blank email is every check sent without one
        return ExternalCheck.objects.none()
    return ExternalCheck.objects.filter(author_email__iexact=email.strip())


def author_reports(email: str):
    """The reports this email was given with (kept as its keyed hash only)."""
    if not email.strip():  # a blank hash is every report given without an email
        return Report.objects.none()
    return Report.objects.filter(reporter_email_sha256=private_sha256(email))


@transaction.atomic
def author_erase(*, email: str, remove_bodies: bool = False, done_by=None) -> int:
    """Erase name, email, URL, IP and user agent from this email's comments (and the bodies if
    asked). Returns how many comments were changed."""
    erased = {
        "author_name": ERASED_NAME,
        "author_email": "",
        "author_url": "",
        "ip_address": None,
        "poster_network": None,
        "user_agent": "",
        # The model's reasons quote the whole form (see _erase_website_from_rules_and_decisions).
        "spam_reasons": [],
    }
    if remove_bodies:
        erased |= {"body": REMOVED_BODY, "body_fingerprint": ""}  # a hash can confirm a guess
    comments = author_comments(email)
    _erase_website_from_rules_and_decisions(comments)
    # The campaign index keys their text and sender; the comments keep their campaign.
    campaign_index_forget(comments)
    count = comments_update(comments, **erased)
    author_reports(email).update(reporter_email_sha256="")
    # Other sites' checks of its comments: the same fields, and their rule hits, which may name
    # the website.
    author_external_checks(email).update(**erased, rule_hits=[])
    AuthorDataRequest.objects.create(
        kind=AuthorDataRequest.Kind.ERASE,
        email_sha256=private_sha256(email),
        comments=count,
        bodies_removed=remove_bodies,
        done_by=done_by,
    )
    return count


def _erase_website_from_rules_and_decisions(comments) -> None:
    """What the service wrote about the form quotes it. The model's reasons ("website field: a
    keyword domain", "word 'mina'") mix body, name and website and cannot be split, so the
    erasure empties them (the score stays); rules and decisions lose the website's domain."""
    for comment in comments.exclude(author_url="").only("pk", "author_url", "rule_hits"):
        host = urlsplit(comment.author_url).hostname or ""
        site = host and domains.registered_domain(host)
        if not site:
            continue
        hits = [hit for hit in comment.rule_hits if site not in hit]
        if hits != comment.rule_hits:
            comments_update(Comment.objects.filter(pk=comment.pk), rule_hits=hits)
        comment.decisions.filter(reason__contains=site).update(
            reason=Replace(F("reason"), Value(site), Value(ERASED_WEBSITE))
        )


def truncated_ip(address: str) -> str:
    """The address's network: /24 for IPv4, /48 for IPv6."""
    return network_address(address, ipv4_prefix=24, ipv6_prefix=48)


def comment_truncate_old_ips(*, older_than: timedelta, batch_size: int = 1000) -> int:
    """Cut the IP address of every comment, and of every other site's check, older than
    `older_than` to its network. Returns how many rows were cut."""
    return sum(
        _truncate_old_ips(model, older_than=older_than, batch_size=batch_size)
        for model in (Comment, ExternalCheck)
    )


def _truncate_old_ips(model, *, older_than: timedelta, batch_size: int) -> int:
    old = model.objects.filter(created_at__lt=timezone.now() - older_than, ip_truncated=False).only(
        "pk", "ip_address"
    )
    count = 0
    while batch := list(old[:batch_size]):
        for row in batch:
            row.ip_address = row.ip_address and truncated_ip(row.ip_address)
            row.poster_network = row.ip_address
            row.ip_truncated = True
        # Fields no reader ever sees: no thread to refresh, so not through services.
        model.objects.bulk_update(batch, ["ip_address", "poster_network", "ip_truncated"])
        count += len(batch)
    return count


FORGOTTEN_REPORTER = "forgotten:"


def report_forget_old_reporters(*, older_than: timedelta) -> int:
    """Drop the reporter hashes of reports older than `older_than` (the IP retention): they only
    stop one reader reporting a comment twice, and a keyed hash is still a stand-in for an IP.
    Each row gets its own placeholder, so the one-report-per-IP constraint still holds."""
    return (
        Report.objects.filter(created_at__lt=timezone.now() - older_than)
        .exclude(reporter_ip_sha256__startswith=FORGOTTEN_REPORTER)
        .update(
            reporter_ip_sha256=Concat(Value(FORGOTTEN_REPORTER), Cast("pk", CharField())),
            reporter_email_sha256="",
        )
    )

"""Reader reports: one per reader per comment; enough of them send a comment back to the queue."""

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework.exceptions import APIException

from moderation.models import Cause, Comment, Report
from moderation.posters import poster_network, private_sha256
from moderation.services import comment_decide


class AlreadyReported(APIException):
    """This reader's network has reported this comment before."""

    status_code = 409
    default_detail = {"comment": ["You have already reported this comment."]}


def comment_report(
    *, comment: Comment, reason: str, ip_address: str, email: str = ""
) -> Report | None:
    """Record a reader's report; at REPLYGUARD_REPORTS_TO_HOLD reports a published comment
    goes back to held (a system decision, so reports never become training labels).

    One per reader: the same network again is told so (409); an email that reported it from
    another network gets None, answered like any report, so the answer never tells whoever
    types an email whether its owner reported the comment."""
    ip_key = private_sha256(poster_network(ip_address) or "")
    email_key = private_sha256(email)
    if comment.reports.filter(reporter_ip_sha256=ip_key).exists():
        raise AlreadyReported
    if email_key and comment.reports.filter(reporter_email_sha256=email_key).exists():
        return None
    try:
        with transaction.atomic():
            report = Report.objects.create(
                comment=comment,
                reason=reason,
                reporter_ip_sha256=ip_key,
                reporter_email_sha256=email_key,
            )
    except IntegrityError:  # the same reader, twice at once
        raise AlreadyReported from None
    count = comment.reports.count()
    if count >= settings.REPLYGUARD_REPORTS_TO_HOLD and comment.status == Comment.Status.PUBLISHED:
        comment_decide(
            comment=comment,
            status=Comment.Status.HELD,
            cause=Cause.REPORTS,
            reason=f"{count} reader reports.",
        )
    return report

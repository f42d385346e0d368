"""Every write to a comment: create, score, decide. Views, tasks and the admin call these."""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from articles.models import Article
from moderation.models import Cause, Comment, Decision
from moderation.tasks import comment_score_task

logger = logging.getLogger(__name__)

Status = Comment.Status


class CommentsClosed(Exception):
    """The article does not take comments."""


class Flooding(Exception):
    """Too soon after this IP address's or email's previous comment."""

    def __init__(self, wait_seconds: int):
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


class DuplicateComment(Exception):
    """The same author posted the same text recently."""


def comment_create(
    *,
    article: Article,
    author_name: str,
    author_email: str,
    body: str,
    author_url: str = "",
    parent: Comment | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    failed_bot_check: str = "",
) -> Comment:
    """Save a pending comment, then ask a worker to score it once the row is committed.
    A comment that failed a bot check (`failed_bot_check` says which) is filed as spam at once."""
    if not article.accepts_comments():
        raise CommentsClosed
    # Addresses are compared (flood, duplicates, history, erasure) case-insensitively.
    author_email = author_email.strip().lower()
    comment_check_flood(author_email=author_email, ip_address=ip_address, body=body)
    comment = Comment(
        article=article,
        parent=parent,
        thread=(parent.thread or parent) if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_name=author_name,
        author_email=author_email,
        author_url=author_url,
        body=body,
        ip_address=ip_address,
        user_agent=user_agent[:512],
    )
    comment.full_clean()
    with transaction.atomic():
        comment.save()
        if failed_bot_check:
            comment_decide(
                comment=comment, status=Status.SPAM, cause=Cause.BOT_CHECK, reason=failed_bot_check
            )
        else:
            comment_enqueue_scoring(comment_id=comment.pk)
    return comment


def comment_check_flood(*, author_email: str, ip_address: str | None, body: str) -> None:
    """Raise DuplicateComment if this author posted this text within the duplicate window, or
    Flooding if this IP address or email posted within REPLYGUARD_FLOOD_SECONDS."""
    now = timezone.now()
    window = timedelta(hours=settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS)
    recent = Comment.objects.filter(author_email=author_email, created_at__gte=now - window)
    if window and recent.filter(body=body.strip()).exists():
        raise DuplicateComment
    flood = timedelta(seconds=settings.REPLYGUARD_FLOOD_SECONDS)
    if not flood:
        return
    same_sender = Q(author_email=author_email)
    if ip_address:
        same_sender |= Q(ip_address=ip_address)
    latest = (
        Comment.objects.filter(same_sender, created_at__gt=now - flood)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if latest is not None:
        raise Flooding(wait_seconds=max(1, math.ceil((latest + flood - now).total_seconds())))


def comment_enqueue_scoring(*, comment_id: int) -> None:
    """Enqueue scoring after commit. A broker outage is logged, not raised: the saved pending
    row is the source of truth and a sweep re-enqueues it."""

    def enqueue():
        comment_score_task.delay(comment_id)

    transaction.on_commit(enqueue, robust=True)


def comment_requeue_stale(*, older_than: timedelta) -> int:
    """Enqueue scoring again for comments still pending after `older_than`: the sweep that makes
    a lost task (broker down at POST time, a worker killed mid-task) cost a delay, not a comment.
    Scoring is idempotent, so a comment that was only slow gets scored once all the same."""
    stale = Comment.objects.filter(
        status=Status.PENDING, created_at__lt=timezone.now() - older_than
    ).values_list("pk", flat=True)
    count = 0
    for comment_id in stale.iterator():
        comment_score_task.delay(comment_id)
        count += 1
    if count:
        logger.info("Re-enqueued %d comment(s) pending for over %s", count, older_than)
    return count


def comment_score(*, comment_id: int) -> Comment | None:
    """Score a pending comment and decide it by its article's policy. Safe to run twice."""
    from moderation import classifier  # here, so web processes never load scikit-learn

    comment = Comment.objects.select_related("article").filter(pk=comment_id).first()
    if comment is None or comment.status != Status.PENDING:
        return comment
    from moderation import rules

    hits = rules.rule_hits(body=comment.body)
    standing = rules.author_standing(email=comment.author_email, excluding=comment.pk)
    model = classifier.load_active_model()
    scores = {}
    probability = None
    if model is not None:
        text = classifier.comment_text(
            body=comment.body, author_name=comment.author_name, author_url=comment.author_url
        )
        probability = model.spam_probability(text)
        scores = {
            "spam_score": probability,
            "model_version": model.version,
            "spam_reasons": model.explain(text),
        }
    status, cause, reason = comment_verdict(
        article=comment.article, spam_probability=probability, hits=hits, standing=standing
    )
    comment_decide(
        comment=comment,
        status=status,
        cause=cause,
        rule_hits=[hit.reason for hit in hits],
        reason=reason,
        **scores,
    )
    return comment


def comment_verdict(
    *, article: Article, spam_probability: float | None, hits: list, standing
) -> tuple[str, str, str]:
    """(status, cause, reason) for a scored comment, strictest first: a banned word rejects,
    the model's spam band files as spam, then anything that asks for a human holds, and only
    then does the model's band (or the author's trust) publish."""
    banned = [hit for hit in hits if hit.status == Status.REJECTED]
    if banned:
        return Status.REJECTED, banned[0].cause, f"Rule: {banned[0].reason}."
    if spam_probability is None:
        return Status.HELD, Cause.NO_MODEL, "No spam model is installed."
    status, reason = policy_decision(article=article, spam_probability=spam_probability)
    if status == Status.SPAM or article.moderation_mode == Article.ModerationMode.PREMODERATED:
        cause = Cause.MODEL if status == Status.SPAM else Cause.PREMODERATED
        return status, cause, reason
    if hits:
        return Status.HELD, hits[0].cause, f"Rule: {'; '.join(hit.reason for hit in hits)}."
    if standing.new and settings.REPLYGUARD_PREMODERATE_NEW_AUTHORS:
        return Status.HELD, Cause.NEW_AUTHOR, "New author: first comments wait for a moderator."
    if status == Status.HELD and standing.trusted:
        return (
            Status.PUBLISHED,
            Cause.TRUSTED_AUTHOR,
            f"{reason} Published: the author has {standing.published} published comments "
            "and none rejected.",
        )
    return status, Cause.MODEL, reason


def policy_decision(*, article: Article, spam_probability: float) -> tuple[str, str]:
    """The status the article's policy gives a comment with this spam probability, and why."""
    publish_below, spam_above = article.thresholds()
    if article.moderation_mode == Article.ModerationMode.PREMODERATED:
        return Status.HELD, "The article is pre-moderated: every comment waits for a moderator."
    if spam_probability >= spam_above:
        return Status.SPAM, f"Spam probability {spam_probability:.2f} ≥ {spam_above:.2f}."
    if spam_probability < publish_below:
        return Status.PUBLISHED, f"Spam probability {spam_probability:.2f} < {publish_below:.2f}."
    return (
        Status.HELD,
        f"Spam probability {spam_probability:.2f} is between "
        f"{publish_below:.2f} and {spam_above:.2f}.",
    )


def comment_decide(
    *,
    comment: Comment,
    status: str,
    decided_by=None,
    spam_score: float | None = None,
    model_version: str = "",
    spam_reasons: list[str] | None = None,
    cause: str = "",
    rule_hits: list[str] | None = None,
    reason: str = "",
) -> bool:
    """Move a comment to `status` and record who decided and why.

    The update is conditional on the status the caller saw, so two deciders racing on one
    comment (two workers, a worker and a moderator) make one change and one audit record.
    Returns False when nothing changed.
    """
    if status == comment.status:
        return False
    now = timezone.now()
    changes = {
        "status": status,
        "decided_at": now,
        "published_at": now if status == Status.PUBLISHED else None,
        "cause": cause or (Cause.MODERATOR if decided_by else ""),
    }
    if rule_hits is not None:
        changes["rule_hits"] = rule_hits
    if spam_score is not None:
        changes |= {
            "spam_score": spam_score,
            "model_version": model_version,
            "spam_reasons": spam_reasons or [],
        }
    with transaction.atomic():
        updated = Comment.objects.filter(pk=comment.pk, status=comment.status).update(**changes)
        if not updated:
            return False
        Decision.objects.create(
            comment=comment,
            decided_by=decided_by,
            from_status=comment.status,
            to_status=status,
            spam_score=changes.get("spam_score", comment.spam_score),
            model_version=changes.get("model_version", comment.model_version),
            reason=reason[:300],
        )
    for field, value in changes.items():
        setattr(comment, field, value)
    return True

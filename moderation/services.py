"""Every write to a comment: create, score, decide. Views, tasks and the admin call these."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from articles.models import Article
from moderation.models import Comment, Decision
from moderation.tasks import comment_score_task

logger = logging.getLogger(__name__)

Status = Comment.Status


class CommentsClosed(Exception):
    """The article does not take comments."""


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
) -> Comment:
    """Save a pending comment, then ask a worker to score it once the row is committed."""
    if not article.accepts_comments():
        raise CommentsClosed
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
        comment_enqueue_scoring(comment_id=comment.pk)
    return comment


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
    model = classifier.load_active_model()
    if model is None:
        comment_decide(comment=comment, status=Status.HELD, reason="No spam model is installed.")
        return comment
    text = classifier.comment_text(
        body=comment.body, author_name=comment.author_name, author_url=comment.author_url
    )
    probability = model.spam_probability(text)
    status, reason = policy_decision(article=comment.article, spam_probability=probability)
    comment_decide(
        comment=comment,
        status=status,
        spam_score=probability,
        model_version=model.version,
        spam_reasons=model.explain(text),
        reason=reason,
    )
    return comment


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
    }
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

"""The worker's side: claim pending comments, score them with the rules and the spam model,
and apply the verdicts (services.verdicts_apply). And the sweep that re-sends a lost task."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from moderation import flood, rules, storms
from moderation.campaigns import grouping
from moderation.models import Cause, Comment, Verdict
from moderation.policy import Case, verdicts_reach
from moderation.services import verdicts_apply
from moderation.spam import shadow
from moderation.wakeup import scoring_task_send, scoring_task_started

logger = logging.getLogger(__name__)

Status = Comment.Status


def pending_comments_score(*, batch_size: int, batch_chars: int) -> int:
    """Claim the oldest pending comments that no other worker holds, up to `batch_size` of them
    and `batch_chars` characters of text (at least one), and score and decide them in one
    transaction. A full batch first sends another task, so a backlog is worked by every
    worker process at once. Returns how many were decided."""
    scoring_task_started()  # comments committed from now on send a task of their own
    with transaction.atomic():
        locked = list(_claim(Comment.objects.all())[:batch_size])
        claimed = _first_chars(locked, batch_chars)
        if len(locked) == batch_size or len(claimed) < len(locked):
            scoring_task_send(wait=0)
        return claimed_comments_score(claimed)


def _first_chars(comments: list[Comment], limit: int) -> list[Comment]:
    # Scoring time grows with the text: 100 maximum-length comments are one slow task. The
    # rows left out stay pending (their locks go at commit) for the task sent above.
    total = 0
    for count, comment in enumerate(comments):
        total += len(comment.body) + len(comment.author_name) + len(comment.author_url)
        if total > limit and count:
            return comments[:count]
    return comments


def _claim(comments):
    # Row locks held to the end of the transaction; SKIP LOCKED leaves rows another worker
    # holds to that worker. (SQLite has neither: its IMMEDIATE transactions run one at a time.)
    return (
        comments.filter(status=Status.PENDING)
        .select_related("article")
        .select_for_update(skip_locked=True, of=("self",))
        # Oldest first along the (status, created_at) index. By id alone PostgreSQL walked the
        # primary key past every decided comment to find the pending ones (70 ms a batch with
        # 100,000 comments in the table), or sorted the whole backlog. No id to break ties:
        # with one, the (status, created_at) index needs a sort on top, and PostgreSQL took the
        # (created_at, id) index instead, walking past every decided comment (50,129 rows read
        # for a batch of 100 in tests/test_rows_read.py).
        .order_by("created_at")
    )


def claimed_comments_score(comments: list[Comment]) -> int:
    """Score and decide claimed pending comments. What they share is looked up once: word
    rules, trusted and blocked domains, the authors' standing, the model, campaigns, copies and
    storms; the scoring chain (policy.verdicts_reach) scores all texts in one call. Each comment
    still gets its own conditional update and decision record."""
    if not comments:
        return 0
    lists = rules.rule_lists()
    standings = rules.authors_standing(
        emails={comment.author_email for comment in comments},
        excluding={comment.pk for comment in comments},
    )
    joined = grouping.comments_group(comments, lists.domain_lists)
    copies = flood.recent_copies(comments)
    articles = {comment.article_id: comment.article for comment in comments}
    storms.storms_check(list(articles.values()))
    cases = [
        Case(
            body=comment.body,
            author_name=comment.author_name,
            author_url=comment.author_url,
            article=articles[comment.article_id],  # one per article, as storms_check left it
            standing=standings[comment.author_email],
            grouped=joined.get(comment.pk),
            floor=floor_of(comment, copies),
        )
        for comment in comments
    ]
    verdicts = verdicts_reach(cases, lists=lists)
    shadow.shadow_scores_record(comments, cases, verdicts, lists=lists)
    return verdicts_apply(list(zip(comments, verdicts, strict=True)))


def floor_of(comment: Comment, copies: set[int]) -> Verdict | None:
    """What a comment may not be decided below: held, if flood control marked it at POST time
    (services.comment_create) or it copies a recent comment's text (flood.recent_copies)."""
    if comment.cause == Cause.FLOOD and comment.rule_hits:
        return Verdict(Status.HELD, Cause.FLOOD, comment.rule_hits[0])
    if comment.pk in copies:
        return Verdict(Status.HELD, Cause.DUPLICATE, "Repeats the exact text of a recent comment.")
    return None


def stale_pending_requeue(*, older_than: timedelta) -> int:
    """Send a scoring task if any comment is still pending after `older_than`: the sweep that
    makes a lost task (broker down at POST time, a worker killed mid-task) cost a delay, not a
    comment. Scoring is idempotent, so a comment that was only slow is scored once all the
    same. Returns how many comments were stale."""
    stale = Comment.objects.filter(
        status=Status.PENDING, created_at__lt=timezone.now() - older_than
    ).count()
    if stale:
        logger.info("%d comment(s) pending for over %s: waking the workers", stale, older_than)
        scoring_task_started()  # whatever task the last send stood for did not come
        scoring_task_send(wait=0)
    return stale


def pipeline_status(*, minutes: float = 5) -> dict:
    """What an operator watches (docs/deployment.md): comments waiting for a worker, how long
    the oldest has waited, and how long the comments posted in the last `minutes` and decided
    since waited from POST to decision (median and 99th percentile, seconds). Each on an index:
    cheap to ask every minute."""
    now = timezone.now()
    pending = Comment.objects.filter(status=Status.PENDING)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    waits = sorted(
        (decided - created).total_seconds()
        for created, decided in Comment.objects.filter(
            created_at__gte=now - timedelta(minutes=minutes), decided_at__isnull=False
        ).values_list("created_at", "decided_at")[:100_000]
    )

    def percentile(q: float) -> float | None:
        return round(waits[min(len(waits) - 1, int(q * len(waits)))], 3) if waits else None

    return {
        "pending": pending.count(),
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0,
        "posted_last_minutes": minutes,
        "decided": len(waits),
        "decision_p50_seconds": percentile(0.5),
        "decision_p99_seconds": percentile(0.99),
    }

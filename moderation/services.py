"""Every write to a comment: create, score, decide. Views, tasks and the admin call these."""

import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from articles.models import Article
from articles.services import articles_threads_changed
from moderation import domains, rules, shadow
from moderation.models import Cause, Comment, Decision
from moderation.outages import cache_add, cache_delete
from moderation.policy import comment_verdict
from moderation.privacy import poster_network
from moderation.tasks import comment_score_pending_task

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


class FormTokenUsed(Exception):
    """The form token was sent with a comment already: one token, one comment."""


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
    form_nonce: str | None = None,
) -> Comment:
    """Save a pending comment, then ask a worker to score it once the row is committed.
    A comment that failed a bot check (`failed_bot_check` says which) is filed as spam at once,
    and one that repeats its email's recent comment (see comment_check_flood) is decided at
    once too: answered like any other, so the answer tells nothing about that email."""
    if not article.accepts_comments():
        raise CommentsClosed
    # Addresses are compared (flood, duplicates, history, erasure) case-insensitively.
    author_email = author_email.strip().lower()
    comment = Comment(
        article=article,
        parent=parent,
        thread=(parent.thread or parent) if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_name=author_name,
        author_email=author_email,
        author_url=author_url,
        body=body,
        body_fingerprint=rules.text_fingerprint(body),
        ip_address=ip_address,
        poster_network=poster_network(ip_address),
        user_agent=user_agent[:512],
        form_nonce=form_nonce or None,
    )
    # The article and parent are rows the caller already loaded: checking that they exist
    # again cost a query per POST (two more for a reply). The nonce is left to its constraint.
    comment.full_clean(exclude=["article", "parent", "thread", "form_nonce"])
    try:
        _comment_insert(comment, failed_bot_check=failed_bot_check)
    except IntegrityError:  # all of it rolled back; a form token used twice is one cause
        if form_nonce and Comment.objects.filter(form_nonce=form_nonce).exists():
            raise FormTokenUsed from None
        raise
    return comment


def _comment_insert(comment: Comment, *, failed_bot_check: str) -> None:
    # Check and insert as one step per address: 12 identical POSTs at once used to store 2.
    with transaction.atomic():
        _lock_poster(comment.poster_network)
        filed = comment_check_flood(
            author_email=comment.author_email,
            poster_network=comment.poster_network,
            body_fingerprint=comment.body_fingerprint,
        )
        if failed_bot_check:
            filed = Verdict(Status.SPAM, Cause.BOT_CHECK, failed_bot_check)
        comment.save()
        if filed:
            comments_decide([(comment, filed)])
        else:
            comment_enqueue_scoring()  # on commit


def _lock_poster(poster_network: str | None) -> None:
    """Hold this address's lock until the transaction ends, so its flood and duplicate checks
    and its INSERT run one request at a time. PostgreSQL: an advisory lock on the address;
    SQLite needs none (its IMMEDIATE transactions already run one at a time)."""
    if poster_network and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [poster_network]
            )


def comment_check_flood(*, author_email: str, poster_network: str | None, body_fingerprint: str):
    """What the poster's recent comments say, in one query. What the poster controls, their IP
    address (an IPv6 one by its /64: privacy.poster_network), answers: Flooding (429) if it
    posted within REPLYGUARD_FLOOD_SECONDS, then DuplicateComment (409) if it posted this text
    within the duplicate window. The email is
    anyone's to type, so it never changes the answer (that was an oracle for a reader's private
    address): a repeat of its recent text is filed as spam, and a comment too soon after its
    last one is held for a moderator; returns that Verdict, or None."""
    now = timezone.now()
    window = timedelta(hours=settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS)
    flood = timedelta(seconds=settings.REPLYGUARD_FLOOD_SECONDS)
    by_ip = Q(poster_network=poster_network) if poster_network else Q(pk__in=[])
    by_email = Q(author_email=author_email)
    recent = Q(created_at__gte=now - window) & Q(body_fingerprint=body_fingerprint)
    soon = Q(created_at__gt=now - flood)
    # Each branch on its own index (email or IP, then time), not a scan of every comment of
    # the last seconds, which under load are thousands.
    checks, rows = {}, []
    if window:
        checks |= {"ip_repeats": Count("pk", filter=by_ip & recent)}
        checks |= {"email_repeats": Count("pk", filter=by_email & recent)}
        rows += [by_ip & recent, by_email & recent]
    if flood:
        checks |= {"ip_latest": Max("created_at", filter=by_ip & soon)}
        checks |= {"email_latest": Max("created_at", filter=by_email & soon)}
        rows += [by_ip & soon, by_email & soon]
    if not checks:
        return None
    found = Comment.objects.filter(reduce(or_, rows)).aggregate(**checks)
    if found.get("ip_latest") is not None:
        wait = (found["ip_latest"] + flood - now).total_seconds()
        raise Flooding(wait_seconds=max(1, math.ceil(wait)))
    if found.get("ip_repeats"):
        raise DuplicateComment
    if found.get("email_repeats"):
        return Verdict(Status.SPAM, Cause.DUPLICATE, "A repeat of its email's recent comment.")
    if found.get("email_latest") is not None:
        reason = "Too soon after its email's last comment, from another address."
        return Verdict(Status.HELD, Cause.FLOOD, reason)
    return None


# Set while a scoring task is queued and not yet started, so a burst of POSTs sends one task.
# It expires by itself in case that task is lost (the sweep rings again anyway).
SCORING_QUEUED = "replyguard:scoring-queued"
SCORING_QUEUED_SECONDS = 10


def comment_enqueue_scoring() -> None:
    """After commit, make sure a worker will score the pending comments. Pending rows are the
    queue and a task only wakes a worker: with a shared cache, one task per burst of comments
    instead of one per comment, whose fixed cost held a worker to ~100 comments/s. A broker
    outage is logged, not raised: the pending row is the source of truth, the sweep rings.
    The task starts REPLYGUARD_SCORING_WAIT seconds later, so the comments of that moment
    share it: a trickle of tasks of one comment each cost the worker more CPU than scoring."""
    transaction.on_commit(ring_for_scoring, robust=True)


def ring_for_scoring(*, wait: float | None = None) -> None:
    """Queue a scoring task to start in `wait` seconds (default REPLYGUARD_SCORING_WAIT)."""
    if wait is None:
        wait = settings.REPLYGUARD_SCORING_WAIT
    # A shared cache holds the flag until the task starts and clears it. A per-process cache
    # (the embedded default's locmem) never sees it cleared, so there it lasts as long as the
    # task waits: whatever commits meanwhile is committed before that task claims.
    per_process = isinstance(caches["default"], LocMemCache)
    coalesce_for = wait if per_process else SCORING_QUEUED_SECONDS
    # With the cache down, every comment rings: more tasks, none lost.
    if coalesce_for and not cache_add(SCORING_QUEUED, True, timeout=coalesce_for):
        return  # a queued task will claim this comment
    if time.monotonic() < _broker_unreachable_until:
        return  # it failed a moment ago: the sweep rings for this comment once it is back
    try:
        comment_score_pending_task.apply_async(countdown=wait or None)
    except Exception:
        _broker_unreachable(settings.REPLYGUARD_BROKER_RETRY_AFTER)
        cache_delete(SCORING_QUEUED)  # the next comment tries again
        raise


# Until when (time.monotonic()) this process does not try the broker again. A broker that
# accepts connections and never answers cost every POST its 2 s timeout, and reads queued
# behind them on the same web process waited too (7.9 s).
_broker_unreachable_until = 0.0


def _broker_unreachable(seconds: float) -> None:
    global _broker_unreachable_until
    _broker_unreachable_until = time.monotonic() + seconds


def comment_score_pending(*, batch_size: int, batch_chars: int) -> int:
    """Claim the oldest pending comments that no other worker holds, up to `batch_size` of them
    and `batch_chars` characters of text (at least one), and score and decide them in one
    transaction. A full batch first rings for another task, so a backlog is worked by every
    worker process at once. Returns how many were decided."""
    cache_delete(SCORING_QUEUED)  # comments committed from now on ring for a task of their own
    with transaction.atomic():
        locked = list(_claim(Comment.objects.all())[:batch_size])
        claimed = _first_chars(locked, batch_chars)
        if len(locked) == batch_size or len(claimed) < len(locked):
            ring_for_scoring(wait=0)
        return comments_score(claimed)


def _first_chars(comments: list[Comment], limit: int) -> list[Comment]:
    # Scoring time grows with the text: 100 maximum-length comments are one slow task. The
    # rows left out stay pending (their locks go at commit) for the task rung above.
    total = 0
    for count, comment in enumerate(comments):
        total += len(comment.body) + len(comment.author_name) + len(comment.author_url)
        if total > limit and count:
            return comments[:count]
    return comments


def comment_score(*, comment_id: int) -> Comment | None:
    """Score one pending comment and decide it by its article's policy. Safe to run twice."""
    with transaction.atomic():
        comments_score(list(_claim(Comment.objects.filter(pk=comment_id))))
    return Comment.objects.filter(pk=comment_id).first()


def _claim(comments):
    # Row locks held to the end of the transaction; SKIP LOCKED leaves rows another worker
    # holds to that worker. (SQLite has neither: its IMMEDIATE transactions run one at a time.)
    return (
        comments.filter(status=Status.PENDING)
        .select_related("article")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")
    )


def comments_score(comments: list[Comment]) -> int:
    """Score and decide claimed pending comments. What they share is looked up once: word
    rules, trusted and blocked domains, the authors' standing, the model; the model scores all
    texts in one call. Each comment still gets its own conditional update and decision record."""
    if not comments:
        return 0
    from moderation import classifier  # here, so web processes never load scikit-learn

    word_rules, lists = rules.enabled_word_rules(), domains.domain_lists()
    standings = rules.authors_standing(
        emails={comment.author_email for comment in comments},
        excluding={comment.pk for comment in comments},
    )
    model = classifier.load_active_model()
    texts = [
        classifier.comment_text(
            body=comment.body,
            author_name=comment.author_name,
            author_url=comment.author_url,
            trusted_domains=lists.trusted,
        )
        for comment in comments
    ]
    scored = model.scores_and_reasons(texts) if model else [(None, [])] * len(comments)
    decisions, shadowed = [], []
    for comment, text, (probability, reasons) in zip(comments, texts, scored, strict=True):
        hits = rules.rule_hits(
            body=comment.body,
            author_url=comment.author_url,
            word_rules=word_rules,
            domain_lists=lists,
        )
        scores = {}
        if model is not None:
            scores = {
                "spam_score": probability,
                "model_version": model.version,
                "spam_reasons": reasons,
            }
        status, cause, reason = comment_verdict(
            article=comment.article,
            spam_probability=probability,
            hits=hits,
            standing=standings[comment.author_email],
        )
        verdict = Verdict(status, cause, reason, rule_hits=[hit.reason for hit in hits], **scores)
        decisions.append((comment, verdict))
        shadowed.append(shadow.ShadowInput(comment, text, hits, standings[comment.author_email]))
    shadow.shadow_scores_record(shadowed, decided=[verdict for _, verdict in decisions])
    return comments_decide(decisions)


def comment_requeue_stale(*, older_than: timedelta) -> int:
    """Ring for scoring if any comment is still pending after `older_than`: the sweep that
    makes a lost task (broker down at POST time, a worker killed mid-task) cost a delay, not a
    comment. Scoring is idempotent, so a comment that was only slow is scored once all the
    same. Returns how many comments were stale."""
    stale = Comment.objects.filter(
        status=Status.PENDING, created_at__lt=timezone.now() - older_than
    ).count()
    if stale:
        logger.info("%d comment(s) pending for over %s: waking the workers", stale, older_than)
        cache_delete(SCORING_QUEUED)  # whatever task that flag stood for did not come
        ring_for_scoring(wait=0)
    return stale


@dataclass(frozen=True)
class Verdict:
    """The status to move one comment to, and why."""

    status: str
    cause: str = ""
    reason: str = ""
    rule_hits: list[str] | None = None  # None: leave the stored ones
    spam_score: float | None = None  # None: leave the stored score, version and reasons
    model_version: str = ""
    spam_reasons: list[str] | None = None


def comment_decide(*, comment: Comment, status: str, decided_by=None, **why) -> bool:
    """Move a comment to `status` and record who decided and why (`why`: Verdict's fields).
    Returns False when nothing changed; see comments_decide."""
    verdict = Verdict(status=status, **why)
    return comments_decide([(comment, verdict)], decided_by=decided_by) == 1


def comments_decide(decisions: list[tuple[Comment, Verdict]], *, decided_by=None) -> int:
    """Move each comment to its verdict's status with one decision record each (who decided
    and why), in one UPDATE and one INSERT however many comments there are.

    Each change is conditional on the status the caller saw, so two deciders racing on one
    comment (two workers, a worker and a moderator) make one change and one audit record.
    Returns how many comments changed.
    """
    wanted = {comment.pk: (comment, verdict) for comment, verdict in decisions}
    seen = {}  # status the caller saw -> comment ids
    for comment, verdict in wanted.values():
        if verdict.status != comment.status:
            seen.setdefault(comment.status, []).append(comment.pk)
    if not seen:
        return 0
    now = timezone.now()
    still_as_seen = reduce(or_, (Q(status=status, pk__in=ids) for status, ids in seen.items()))
    # No savepoint: inside a scoring batch a failure rolls the whole batch back, to be retried.
    with transaction.atomic(savepoint=False):
        rows = list(
            Comment.objects.select_for_update().filter(still_as_seen).only("article", *DECIDED)
        )
        records = []
        threads_changed = set()
        for row in rows:
            comment, verdict = wanted[row.pk]
            if Status.PUBLISHED in (row.status, verdict.status):
                threads_changed.add(row.article_id)
            changes = _changes(verdict, decided_by=decided_by, now=now)
            records.append(
                Decision(
                    comment_id=row.pk,
                    decided_by=decided_by,
                    from_status=row.status,
                    to_status=verdict.status,
                    spam_score=changes.get("spam_score", row.spam_score),
                    model_version=changes.get("model_version", row.model_version),
                    reason=verdict.reason[:300],
                )
            )
            for field, value in changes.items():
                setattr(row, field, value)
                setattr(comment, field, value)
        _save_decided_fields(rows)
        Decision.objects.bulk_create(records)
        if decided_by is not None:  # a person's publish or spam teaches the link domains
            changed = (wanted[row.pk] for row in rows)
            domains.domains_learn([(v.status, f"{c.body} {c.author_url}") for c, v in changed])
        articles_threads_changed(threads_changed)  # last: it holds those articles' row locks
    return len(rows)


# Every field a decision writes (and nothing else: a moderator's edit elsewhere stays).
DECIDED = (
    "status",
    "decided_at",
    "published_at",
    "cause",
    "rule_hits",
    "spam_score",
    "model_version",
    "spam_reasons",
)


def _save_decided_fields(rows: list[Comment]) -> None:
    """One UPDATE per row, sent together (executemany: one pipeline on psycopg 3). Django's
    bulk_update builds a CASE per field and row: 4 ms a comment, more than scoring it."""
    fields = [Comment._meta.get_field(name) for name in DECIDED]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Comment._meta.db_table)} SET {assignments} WHERE id = %s"
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
        + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _changes(verdict: Verdict, *, decided_by, now) -> dict:
    changes = {
        "status": verdict.status,
        "decided_at": now,
        "published_at": now if verdict.status == Status.PUBLISHED else None,
        "cause": verdict.cause or (Cause.MODERATOR if decided_by else ""),
    }
    if verdict.rule_hits is not None:
        changes["rule_hits"] = verdict.rule_hits
    if verdict.spam_score is not None:
        changes |= {
            "spam_score": verdict.spam_score,
            "model_version": verdict.model_version,
            "spam_reasons": verdict.spam_reasons or [],
        }
    return changes

"""Every write to a comment: create, edit, delete, decide. The API, the admin, the worker's
scoring and the privacy tools call these, and only these move an article's thread version, so
no write can leave readers a stale thread behind a 304."""

import logging
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from articles.models import Article
from moderation import cache, domains, flood, rules
from moderation.models import (
    Campaign,
    CampaignKey,
    Cause,
    Comment,
    Decision,
    TextSignature,
    Verdict,
)
from moderation.posters import poster_network
from moderation.wakeup import scoring_task_send_on_commit
from moderation.wording import percent

logger = logging.getLogger(__name__)

Status = Comment.Status


# What a reader may be told is raised as a DRF exception: the API presents it as it is.
class CommentsClosed(PermissionDenied):
    default_detail = {"article": ["Comments are closed on this article."]}


class FormTokenUsed(ValidationError):
    """The form token was sent with a comment already: one token, one comment."""

    default_detail = {"form_token": ["This form was used already: reload the page."]}


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
    bot_check_reason: str = "",
    form_nonce: str | None = None,
) -> Comment:
    """Save a pending comment, then ask a worker to score it once the row is committed.
    A comment that failed a bot check (`bot_check_reason` says which) is filed as spam at once.
    One too soon after its email's last comment (flood.poster_recent_check) is still scored,
    with a floor: held at least (policy.with_floor). Either is answered like any other
    comment, so the answer tells nothing about that email."""
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
        _comment_insert(comment, bot_check_reason=bot_check_reason)
    except IntegrityError:  # all of it rolled back; a form token used twice is one cause
        if form_nonce and Comment.objects.filter(form_nonce=form_nonce).exists():
            raise FormTokenUsed from None
        raise
    return comment


def _comment_insert(comment: Comment, *, bot_check_reason: str) -> None:
    # Check and insert as one step per address: 12 identical POSTs at once used to store 2.
    with transaction.atomic():
        flood.poster_lock(comment.poster_network)
        floor = flood.poster_recent_check(
            author_email=comment.author_email,
            poster_network=comment.poster_network,
            body_fingerprint=comment.body_fingerprint,
        )
        if floor:  # the worker reads it back (scoring.floor_of)
            comment.cause, comment.rule_hits = floor.cause, [floor.reason]
        comment.save()
        if bot_check_reason:
            verdicts_apply([(comment, Verdict(Status.SPAM, Cause.BOT_CHECK, bot_check_reason))])
        else:
            scoring_task_send_on_commit()


def comment_decide(
    *, comment: Comment, status: str, decided_by=None, cause: str = "", reason: str = ""
) -> bool:
    """Move a comment to `status` and record who decided, the cause and the reason.
    Returns False when nothing changed; see verdicts_apply. A person's decision on this one
    comment is the only kind that teaches the link domains (domains.domains_learn)."""
    verdict = Verdict(status=status, cause=cause, reason=reason)
    teaches = decided_by is not None
    return verdicts_apply([(comment, verdict)], decided_by=decided_by, teach_domains=teaches) == 1


def comments_decide(*, comments, status: str, decided_by, cause: str = "", reason: str = "") -> int:
    """A moderator's bulk decision: one UPDATE and one audit record each. It teaches no link
    domain: a selection of many is a grouping, not a judgement of each link."""
    verdict = Verdict(status=status, cause=cause, reason=reason)
    return verdicts_apply([(comment, verdict) for comment in comments], decided_by=decided_by)


CAMPAIGN_DECISIONS = {
    Campaign.State.BINNED: Status.SPAM,
    Campaign.State.HELD: Status.HELD,
    Campaign.State.PUBLISHED: Status.PUBLISHED,
}


@dataclass(frozen=True)
class CampaignDecided:
    changed: int
    left: int  # members left for a moderator: see campaign_members_left


def campaign_decide(*, campaign: Campaign, state: str, decided_by) -> CampaignDecided:
    """A moderator's decision on a whole campaign: every member it may touch moves through
    verdicts_apply (one audit record each), and the campaign remembers it, so the worker
    treats comments that join it later the same way (policy.campaign_verdict). Members a
    person decided, and (for a bin) authors with published comments outside any campaign,
    are left for a moderator (campaign_members_left)."""
    status = CAMPAIGN_DECISIONS[state]
    reason = f"{campaign}: {Campaign.State(state).label.split(':')[0].lower()} by a moderator."
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            state=state, decided_by=decided_by, decided_at=timezone.now()
        )
        campaign.state = state
        members = campaign.comments.exclude(status__in=[status, Status.PENDING])
        if status == Status.PUBLISHED:  # a banned word or a moderator's rejection stands
            members = members.exclude(status=Status.REJECTED)
        left = campaign_members_left(campaign, status)
        members = members.exclude(pk__in=[comment.pk for comment, _ in left])
        verdict = Verdict(status=status, cause=Cause.CAMPAIGN, reason=reason)
        changed = verdicts_apply([(c, verdict) for c in members], decided_by=decided_by)
    return CampaignDecided(changed=changed, left=len(left))


def campaign_members_left(campaign: Campaign, status: str) -> list[tuple[Comment, str]]:
    """The members a whole-campaign move to `status` leaves alone, each with why: a person
    decided it (that decision stands), or, to bin, its author has published comments outside
    any campaign (a grouping of others' comments alone never bins such a reader)."""
    members = campaign.comments.exclude(status=status).annotate(
        by_person=Exists(Decision.objects.filter(comment=OuterRef("pk"), decided_by__isnull=False))
    )
    history = set()
    if status == Status.SPAM:
        history = rules.authors_with_history({c.author_email for c in members})
    left = []
    for comment in members.order_by("created_at", "pk"):
        # A campaign action's own decisions are the campaign's, for the next action to change.
        if comment.by_person and comment.cause != Cause.CAMPAIGN:
            left.append((comment, "a moderator decided it; that decision stands"))
        elif comment.author_email in history:
            left.append((comment, "its author has published comments outside any campaign"))
    return left


def campaign_members_remove(comments) -> int:
    """Take these comments out of their campaigns and out of campaign matching: their index
    rows go, so no later comment joins a campaign through them. Their status stays (a
    moderator decides it on its own). Returns how many were members."""
    with transaction.atomic():
        members = Comment.objects.filter(
            pk__in=list(comments.filter(campaign__isnull=False).values_list("pk", flat=True))
        )
        campaign_index_forget(members)
        return members.update(campaign=None)


def campaign_index_forget(comments) -> None:
    """Drop these comments' rows from the campaign index (campaigns/grouping.py): no later comment
    matches them, and nothing keyed by their text or sender stays (taken out, or erased)."""
    CampaignKey.objects.filter(comment__in=comments).delete()
    TextSignature.objects.filter(comment__in=comments).delete()


def verdicts_apply(
    verdicts: list[tuple[Comment, Verdict]], *, decided_by=None, teach_domains: bool = False
) -> int:
    """Move each comment to its verdict's status with one decision record each (who decided
    and why), in one UPDATE and one INSERT however many comments there are.

    Each change is conditional on the status the caller saw, so two deciders racing on one
    comment (two workers, a worker and a moderator) make one change and one audit record.
    Returns how many comments changed.
    """
    wanted = {comment.pk: (comment, verdict) for comment, verdict in verdicts}
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
        if teach_domains:  # a person's decision on one comment (comment_decide)
            changed = (wanted[row.pk] for row in rows)
            domains.domains_learn([(v.status, f"{c.body} {c.author_url}") for c, v in changed])
        _threads_changed(threads_changed)  # last: it holds those articles' row locks
    who = f"by {decided_by}" if decided_by else "by the service"
    for row, record in zip(rows, records, strict=True):  # one line each; the id says the rest
        scores = "spam " + ("none" if row.spam_score is None else percent(row.spam_score))
        if row.abuse_score is not None:
            scores += f", abuse {percent(row.abuse_score)}"
        logger.info(
            "comment %s %s → %s %s (cause %s, %s)",
            row.pk, record.from_status, row.status, who, row.cause or "none", scores,
        )  # fmt: skip
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
    "abuse_score",
    "abuse_model_version",
    "abuse_words",
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
    if verdict.abuse_score is not None:
        changes |= {
            "abuse_score": verdict.abuse_score,
            "abuse_model_version": verdict.abuse_model_version,
            "abuse_words": verdict.abuse_words or [],
        }
    return changes


# The three below move the version whatever the status they read: they are rare (a moderator's
# edit, a deletion, an erasure), and a status read before the write can be stale (a worker
# publishing the comment meanwhile) or miss published replies a deletion takes with it.


def comment_edit(*, comment: Comment, fields: list[str]) -> None:
    """Save a change to these fields of a comment (a moderator's edit in the admin)."""
    with transaction.atomic():
        comment.save(update_fields=fields)
        _threads_changed([comment.article_id])


def comments_update(comments, **values) -> int:
    """Set these fields on every comment of the queryset (an erasure): one UPDATE."""
    with transaction.atomic():
        shown_on = list(comments.values_list("article_id", flat=True).distinct())
        count = comments.update(**values)
        _threads_changed(shown_on)  # after the comments: the order deciders lock them in
    return count


def comments_delete(comments) -> int:
    """Delete the queryset's comments, their replies, decisions and reports with them."""
    with transaction.atomic():
        shown_on = list(comments.values_list("article_id", flat=True).distinct())
        deleted, _ = comments.delete()
        _threads_changed(shown_on)
    return deleted


def _threads_changed(article_ids) -> None:
    """A published comment of these articles appeared, changed or went: move their thread
    pages' version on, so readers' ETags and the server's cached pages stop matching.
    Row by row in id order: two deciders touching the same articles lock them in one order."""
    for article_id in sorted(set(article_ids)):
        Article.objects.filter(pk=article_id).update(thread_version=F("thread_version") + 1)
    cache.thread_versions_moved(article_ids)

"""Spam waves as one thing: comments from different authors grouped into a Campaign when their
text is nearly the same (MinHash over character 5-grams, with quotes, the article's own
sentences and links taken out first), they give the same website (not a trusted source), or
(when turned on) one sender's fingerprint (mail domain, network, browser) recurs across
articles, within a window.

Grouping is what outsiders send, so it never reaches a reader who has shown otherwise: a
published comment, or an author with published comments outside any campaign, is never pulled
into a campaign by others' copies of their text or website, nor joins one by matching it
(policy.campaign_verdict holds such a comment for a moderator when what it matches was binned).

The keys: campaigns/keys.py. The LSH index is ours, in the database (CampaignKey: one row per
signature band, and one for the website), so every worker process shares it and a lookup
is one indexed query however many comments are indexed."""

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.template.defaultfilters import truncatechars
from django.utils import timezone

from moderation import domains, rules
from moderation.campaigns.keys import CampaignKeys, campaign_keys
from moderation.models import Campaign, CampaignKey, Comment, TextSignature


@dataclass(frozen=True)
class Grouped:
    """The campaign a comment is in, or (member False) the one it matches but may not join:
    its author has published comments outside any campaign."""

    campaign: Campaign
    member: bool = True


def comments_group(comments: list[Comment], lists: domains.DomainLists) -> dict[int, Grouped]:
    """Find each comment's campaign (joining or founding one), index the comments for those
    that come after, and return {comment id: Grouped} for those in or matching one. A batch
    costs a fixed handful of queries however many comments it has; its comments find each
    other too, in order."""
    prints = {comment.pk: campaign_keys(comment, lists) for comment in comments}
    index, matched = _all_matches(comments, prints)
    if _may_group(index, matched):
        # Another author's comment or a campaign is involved: group one batch at a time, on
        # what was committed up to now (other batches go on in parallel as long as theirs
        # are readers' own comments).
        _campaigns_lock()
        index, matched = _all_matches(comments, prints)
    involved = {  # the authors of comments with matches and of their matches: one query
        email
        for comment, matches, _ in matched
        if matches
        for email in (comment.author_email, *map(index.author, matches))
    }
    index.established = rules.authors_with_history(involved) if involved else set()
    assigned: dict[int, int] = {}  # comment id -> campaign id, for what this batch changes
    matched_only: dict[int, int] = {}  # the same, for established authors: not members
    for comment, matches, shared in matched:
        campaign_id = _campaign_of(comment, matches, index, assigned, shared)
        if campaign_id is None:
            continue
        if comment.author_email in index.established:
            matched_only[comment.pk] = campaign_id
            continue
        for cid in [comment.pk, *(m for m in matches if index.pullable(m, assigned))]:
            assigned[cid] = campaign_id
    by_campaign: dict[int, list[int]] = {}
    for cid, campaign_id in assigned.items():
        by_campaign.setdefault(campaign_id, []).append(cid)
    for campaign_id, ids in sorted(by_campaign.items()):  # no reader sees it: not via services
        Comment.objects.filter(pk__in=ids).update(campaign_id=campaign_id)
    index.save()
    campaigns = Campaign.objects.in_bulk({*assigned.values(), *matched_only.values()})
    grouped = {cid: Grouped(campaigns[campaign_id]) for cid, campaign_id in assigned.items()}
    grouped |= {cid: Grouped(campaigns[c], member=False) for cid, c in matched_only.items()}
    return {c.pk: grouped[c.pk] for c in comments if c.pk in grouped}


def _all_matches(comments, prints):
    """The index as committed now plus this batch, and each comment's matches, in order."""
    index, matched = _Index(comments, prints), []
    for comment in comments:
        matched.append((comment, *index.matches(comment, prints[comment.pk])))
        index.add(comment, prints[comment.pk])
    return index, matched


def _may_group(index, matched) -> bool:
    return any(
        index.author(m) != comment.author_email or index.campaign(m, {}) is not None
        for comment, matches, _ in matched
        for m in matches
    )


def _campaigns_lock() -> None:
    """One batch at a time groups campaigns, until it commits: two workers scoring one wave
    would otherwise each found a campaign of their own, and each write the other's comments.
    PostgreSQL: a transaction-level advisory lock; SQLite runs one transaction at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('replyguard-campaigns'))")


def _campaign_of(comment, matches, index, assigned, shared: str) -> int | None:
    """The campaign it joins (a binned one its matches are in first, then the oldest), or a
    new one if its matches are another author's; None if it stands alone."""
    if not matches:
        return None
    joined = {index.campaign(m, assigned) for m in matches} - {None}
    if joined:
        return min(joined, key=lambda c: (index.states.get(c) != Campaign.State.BINNED, c))
    if all(index.author(m) == comment.author_email for m in matches):
        return None
    if comment.author_email in index.established:
        return None  # it founds nothing: a reader with a history is nobody's campaign
    created = Campaign.objects.create(grouped_by=truncatechars(shared, 200))
    index.states[created.pk] = created.state
    return created.pk


# Each key's newest REPLYGUARD_CAMPAIGN_CANDIDATES comments (a LATERAL join with a LIMIT: a
# wave's keys each hold thousands of rows, and ranking them all in a window grew every batch's
# lookup with the wave, 0.02 to 0.25 s at 11,000), with what is compared of each, in one
# statement: by two more queries with their ids in IN lists (2,000 ids a batch on a busy site)
# the lookup took twice as long.
CANDIDATES = """
SELECT k.key, newest.comment_id, c.author_email, c.campaign_id, c.article_id, c.status,
       s.values
FROM unnest(%s::bigint[]) AS k(key)
CROSS JOIN LATERAL (
    SELECT comment_id FROM moderation_campaignkey
    WHERE key = k.key AND created_at >= %s ORDER BY created_at DESC LIMIT %s
) AS newest
JOIN moderation_comment c ON c.id = newest.comment_id
LEFT JOIN moderation_textsignature s ON s.comment_id = newest.comment_id
"""


def _candidates(keys: set[int], since) -> list[tuple]:
    """(key, comment id, author email, campaign id, article id, status, signature bytes or
    None) of the newest REPLYGUARD_CAMPAIGN_CANDIDATES comments indexed under each key since
    `since`."""
    if not keys:
        return []
    limit = settings.REPLYGUARD_CAMPAIGN_CANDIDATES
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(CANDIDATES, [sorted(keys), since, limit])
            return cursor.fetchall()
    newest = Window(RowNumber(), partition_by=F("key"), order_by=F("created_at").desc())
    rows = list(
        CampaignKey.objects.filter(key__in=keys, created_at__gte=since)
        .annotate(rank=newest)
        .filter(rank__lte=limit)
        .values_list("key", "comment_id")
    )
    found = {cid for _, cid in rows}
    people = {
        pk: rest
        for pk, *rest in Comment.objects.filter(pk__in=found).values_list(
            "pk", "author_email", "campaign_id", "article_id", "status"
        )
    }
    values = dict(
        TextSignature.objects.filter(comment_id__in=found).values_list("comment_id", "values")
    )
    return [(key, cid, *people[cid], values.get(cid)) for key, cid in rows if cid in people]


class _Index:
    """The keys of recent comments that share a key with this batch (from CampaignKey, at most
    REPLYGUARD_CAMPAIGN_CANDIDATES a key, newest first), their authors, campaigns and
    signatures, and the batch's own comments as they are added."""

    def __init__(self, comments: list[Comment], prints: dict[int, CampaignKeys]):
        keys = {key for p in prints.values() for key in p.keys}
        since = min(c.created_at for c in comments) - timedelta(
            hours=settings.REPLYGUARD_CAMPAIGN_WINDOW_HOURS
        )
        self.by_key: dict[int, list[int]] = {}
        self.people: dict[int, tuple] = {}
        self.values: dict[int, np.ndarray] = {}
        for key, cid, email, campaign_id, article_id, status, values in _candidates(keys, since):
            self.by_key.setdefault(key, []).append(cid)
            if cid not in self.people:
                self.people[cid] = (email, campaign_id, article_id, status)
                if values is not None:
                    self.values[cid] = np.frombuffer(bytes(values), dtype=np.uint32)
        found = {person[1] for person in self.people.values()} - {None}
        self.states = dict(Campaign.objects.filter(pk__in=found).values_list("pk", "state"))
        self.established: set[str] = set()  # set by comments_group once the matches are known
        self.new_keys: list[tuple] = []
        self.new_values: list[TextSignature] = []

    def matches(self, comment: Comment, prints: CampaignKeys) -> tuple[list[int], str]:
        """The comments it belongs with, and what it shares with them, in words."""
        limit = settings.REPLYGUARD_CAMPAIGN_SIMILARITY
        by_link = {c for key in prints.link_keys for c in self.by_key.get(key, [])}
        by_text = {c for key in prints.text_keys for c in self.by_key.get(key, [])} - by_link
        by_text = sorted(c for c in by_text if c in self.values)
        if by_text:  # all candidates at once: one comparison of a (candidates x 64) matrix
            alike = (np.stack([self.values[c] for c in by_text]) == prints.values).mean(axis=1)
            by_text = {c for c, share in zip(by_text, alike, strict=True) if share >= limit}
        by_text = set(by_text)
        by_sender = {
            c for key in prints.sender_keys for c in self.by_key.get(key, [])
            if self.people[c][2] != comment.article_id
        }  # fmt: skip
        matches = sorted((by_link | by_text | by_sender) - {comment.pk})
        if by_link - {comment.pk}:
            return matches, f"the website {next(iter(prints.link_keys.values()))}"
        if by_text - {comment.pk}:
            return matches, "near-identical text"
        return matches, "one sender (mail domain, network and browser) across articles"

    def author(self, cid: int) -> str:
        return self.people[cid][0]

    def campaign(self, cid: int, assigned: dict) -> int | None:
        return assigned.get(cid, self.people[cid][1])

    def pullable(self, cid: int, assigned: dict) -> bool:
        """Whether a comment others match may be pulled into their campaign: not if it is in
        one already, was published, or its author has a published history. Copies of a
        reader's comment are the reader's attackers, not their campaign."""
        email, _, _, status = self.people[cid]
        return (
            self.campaign(cid, assigned) is None
            and status != Comment.Status.PUBLISHED
            and email not in self.established
        )

    def add(self, comment: Comment, prints: CampaignKeys) -> None:
        self.people[comment.pk] = (
            comment.author_email, comment.campaign_id, comment.article_id, comment.status
        )  # fmt: skip
        for key in prints.keys:
            self.by_key.setdefault(key, []).append(comment.pk)
            self.new_keys.append((key, comment.pk, comment.created_at))
        if prints.values is not None:
            self.values[comment.pk] = prints.values
            self.new_values.append(
                TextSignature(comment_id=comment.pk, values=prints.values.tobytes())
            )

    def save(self) -> None:
        # 16 key rows a comment: COPY on PostgreSQL (a batch's 1,600 rows in one stream; a
        # bulk_create spent more compiling its INSERT than PostgreSQL spent storing it).
        table = CampaignKey._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(
                    f"COPY {table} (key, comment_id, created_at) FROM STDIN"
                ) as copy:
                    for row in self.new_keys:
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO {table} (key, comment_id, created_at) VALUES (%s, %s, %s)"
                cursor.executemany(sql, self.new_keys)
        TextSignature.objects.bulk_create(self.new_values, ignore_conflicts=True)


def campaign_keys_forget_old() -> int:
    """Drop the index rows of comments older than the campaign window: no new comment can
    join them any more, and they say things of their senders (the retention task runs it)."""
    since = timezone.now() - timedelta(hours=settings.REPLYGUARD_CAMPAIGN_WINDOW_HOURS)
    TextSignature.objects.filter(comment__created_at__lt=since).delete()
    return CampaignKey.objects.filter(created_at__lt=since).delete()[0]

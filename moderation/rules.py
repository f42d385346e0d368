"""Rules that run before the spam model, and the author's standing. Each fired rule carries the
words a moderator reads; word lists are data (WordRule, edited in the admin), not code."""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Q

from moderation import domains
from moderation.models import Cause, Comment, WordRule

Status = Comment.Status


def text_fingerprint(text: str) -> str:
    """The same for texts a reader would call the same: compatibility forms (NBSP, full-width
    letters), any case, any run of spaces, invisible format characters (zero-width space and
    joiners, soft hyphen) all ignored. A repost varied by those is still a duplicate."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return hashlib.sha256(" ".join(visible.split()).encode()).hexdigest()


@dataclass(frozen=True)
class RuleHit:
    cause: str  # a Cause
    status: str  # what the rule asks for: held or rejected
    reason: str  # what the moderator reads


def rule_hits(
    *,
    body: str,
    author_url: str = "",
    word_rules: list[WordRule] | None = None,
    domain_lists: domains.DomainLists | None = None,
) -> list[RuleHit]:
    """Every rule the comment fires, strictest first: banned words, a link (or Website) on a
    blocked domain, suspect words, the link limit. The Website field is not counted toward the
    limit (it is a link by design), nor are links to trusted sources. A batch passes the
    `word_rules` and `domain_lists` it read once."""
    lists = domain_lists or domains.domain_lists()
    hits = []
    for rule in enabled_word_rules() if word_rules is None else word_rules:
        if whole_words(rule.phrase).search(body):
            if rule.action == WordRule.Action.REJECT:
                hits.append(RuleHit(Cause.BANNED_WORD, Status.REJECTED, f"banned '{rule.phrase}'"))
            else:
                hits.append(RuleHit(Cause.SUSPECT_WORD, Status.HELD, f"suspect '{rule.phrase}'"))
    blocked = [
        h for h in domains.link_hosts(f"{body} {author_url}") if domains.listed(h, lists.blocked)
    ]
    if blocked:
        reason = f"a link to {domains.registered_domain(blocked[0])} (a blocked domain)"
        hits.append(RuleHit(Cause.BLOCKED_DOMAIN, Status.SPAM, reason))
    strictness = {Status.REJECTED: 0, Status.SPAM: 1}
    hits.sort(key=lambda hit: strictness.get(hit.status, 2))
    limit = settings.REPLYGUARD_HOLD_AT_LINKS
    counted = [h for h in domains.link_hosts(body) if not domains.listed(h, lists.trusted)]
    if limit and len(counted) >= limit:
        reason = f"{len(counted)} links to untrusted sites (held at {limit})"
        hits.append(RuleHit(Cause.LINKS, Status.HELD, reason))
    return hits


def enabled_word_rules() -> list[WordRule]:
    return list(WordRule.objects.filter(enabled=True).order_by("-action", "phrase"))


class RuleLists(NamedTuple):
    """What every comment of a batch is checked against, read once: the newsroom's word rules
    and its trusted and blocked domains."""

    word_rules: list[WordRule]
    domain_lists: domains.DomainLists


def rule_lists() -> RuleLists:
    return RuleLists(enabled_word_rules(), domains.domain_lists())


@lru_cache(maxsize=4096)
def whole_words(phrase: str) -> re.Pattern:
    """The phrase as whole words, any case, any run of spaces between its words."""
    words = (re.escape(word) for word in phrase.split())
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class AuthorStanding:
    published: int
    rejected: int  # rejected or filed as spam

    @property
    def new(self) -> bool:
        return self.published == 0


def authors_standing(*, emails: set[str], excluding: set[int] = frozenset()) -> dict:
    """{email: AuthorStanding} for every email, in one query however many there are."""
    counts = (
        Comment.objects.filter(author_email__in=emails)
        .exclude(pk__in=excluding)
        .order_by()
        .values("author_email")
        .annotate(
            published=Count("pk", filter=Q(status=Status.PUBLISHED)),
            rejected=Count("pk", filter=Q(status__in=[Status.REJECTED, Status.SPAM])),
        )
    )
    found = {row.pop("author_email"): AuthorStanding(**row) for row in counts}
    return {email: found.get(email, AuthorStanding(published=0, rejected=0)) for email in emails}


def authors_with_history(emails: set[str]) -> set[str]:
    """The emails with a published comment in no campaign: readers a grouping of others'
    comments may not pull in or bin (anyone may type an email, so this only ever spares)."""
    published = Comment.objects.filter(
        author_email__in=emails, status=Status.PUBLISHED, campaign__isnull=True
    )
    return set(published.order_by().values_list("author_email", flat=True).distinct())

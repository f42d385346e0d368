"""Rules that run before the spam model, and the author's standing. Each fired rule carries the
words a moderator reads; word lists are data (WordRule, edited in the admin), not code."""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db.models import Count, Q

from moderation.links import URL as LINK
from moderation.models import Cause, Comment, WordRule

Status = Comment.Status


@dataclass(frozen=True)
class RuleHit:
    cause: str  # a Cause
    status: str  # what the rule asks for: held or rejected
    reason: str  # what the moderator reads


def rule_hits(*, body: str, word_rules: list[WordRule] | None = None) -> list[RuleHit]:
    """Every rule the comment's text fires, banned words first. The Website field is not
    counted as a link: it is one by design. A batch passes `word_rules` it read once."""
    hits = []
    for rule in enabled_word_rules() if word_rules is None else word_rules:
        if whole_words(rule.phrase).search(body):
            if rule.action == WordRule.Action.REJECT:
                hits.append(RuleHit(Cause.BANNED_WORD, Status.REJECTED, f"banned '{rule.phrase}'"))
            else:
                hits.append(RuleHit(Cause.SUSPECT_WORD, Status.HELD, f"suspect '{rule.phrase}'"))
    hits.sort(key=lambda hit: hit.status != Status.REJECTED)
    limit = settings.REPLYGUARD_HOLD_AT_LINKS
    links = len(LINK.findall(body))
    if limit and links >= limit:
        hits.append(RuleHit(Cause.LINKS, Status.HELD, f"{links} links (held at {limit})"))
    return hits


def enabled_word_rules() -> list[WordRule]:
    return list(WordRule.objects.filter(enabled=True).order_by("-action", "phrase"))


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
    def trusted(self) -> bool:
        needed = settings.REPLYGUARD_TRUSTED_AFTER
        return bool(needed) and self.published >= needed and self.rejected == 0

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

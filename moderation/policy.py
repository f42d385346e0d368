"""Pure policy: the rules that fired, the author's standing and the article's thresholds turn a
spam probability into a Verdict's status, cause and reason. No database: scoring, flood
control and shadow scoring all ask it; services apply the verdicts."""

from dataclasses import dataclass

from django.conf import settings

from articles.models import Article
from moderation.models import Campaign, Cause, Comment
from moderation.words import percent

Status = Comment.Status


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


def comment_verdict(
    *, article: Article, spam_probability: float | None, hits: list, standing
) -> tuple[str, str, str]:
    """(status, cause, reason) for a scored comment, strictest first: a banned word rejects,
    a link to a blocked domain or the model's spam band files as spam, then anything that asks
    for a human holds, and only then does the model's band publish."""
    strict = [hit for hit in hits if hit.status in (Status.REJECTED, Status.SPAM)]
    if strict:  # hits come strictest first: a banned word, then a blocked domain
        return strict[0].status, strict[0].cause, f"Rule: {strict[0].reason}."
    if spam_probability is None:
        return Status.HELD, Cause.NO_MODEL, "No spam model is installed."
    status, reason = policy_band(article=article, spam_probability=spam_probability)
    if status == Status.SPAM or article.premoderated():
        cause = Cause.MODEL if status == Status.SPAM else Cause.PREMODERATED
        return status, cause, reason
    if hits:
        return Status.HELD, hits[0].cause, f"Rule: {'; '.join(hit.reason for hit in hits)}."
    # An author's history skips the new-author rule only, never the model's band: it rests on
    # an email anyone may type.
    if standing.new and settings.REPLYGUARD_PREMODERATE_NEW_AUTHORS:
        return Status.HELD, Cause.NEW_AUTHOR, "New author: first comments wait for a moderator."
    return status, Cause.MODEL, reason


def policy_band(*, article: Article, spam_probability: float) -> tuple[str, str]:
    """The band of the article's policy this spam probability falls in, as the status it asks
    for, and why: a band, not yet a decision (comment_verdict weighs the rules first)."""
    publish_below, spam_above = article.thresholds()
    if article.in_storm():
        return Status.HELD, "Storm mode: the article is pre-moderated while comments pour in."
    if article.premoderated():
        return Status.HELD, "The article is pre-moderated: every comment waits for a moderator."
    # In the words the desk shows scores in (words.percent), so a reason reads like its column.
    # A threshold is a setting, not a score: 1.0 reads 100%, not the scores' cap of 99%.
    low, high = percent(publish_below, most=100), percent(spam_above, most=100)
    score = percent(spam_probability)
    if spam_probability >= spam_above:
        return Status.SPAM, f"Spam probability {score} ≥ {high}."
    if spam_probability < publish_below:
        return Status.PUBLISHED, f"Spam probability {score} < {low}."
    return Status.HELD, f"Spam probability {score} is between {low} and {high}."


def campaign_verdict(grouped, status: str, cause: str, reason: str):
    """What a moderator decided about the campaign a comment joins (campaigns.Grouped) wins
    over the model: binned, the comment is spam; held, it waits for a moderator. A banned word
    still rejects. A comment that only matches a binned campaign (its author has published
    comments outside any) is held, not binned: a grouping alone never bins such a reader."""
    if grouped is None or status == Status.REJECTED:
        return status, cause, reason
    campaign = grouped.campaign
    if campaign.state == Campaign.State.BINNED and grouped.member:
        return Status.SPAM, Cause.CAMPAIGN, f"Joins {campaign}, binned by a moderator."
    if campaign.state == Campaign.State.BINNED and status != Status.SPAM:
        return (
            Status.HELD,
            Cause.CAMPAIGN,
            f"Matches {campaign}, binned by a moderator, but its author has published "
            "comments outside any campaign: a moderator decides.",
        )
    if campaign.state == Campaign.State.HELD and status == Status.PUBLISHED:
        joins = "Joins" if grouped.member else "Matches"
        return Status.HELD, Cause.CAMPAIGN, f"{joins} {campaign}, held by a moderator."
    return status, cause, reason


def with_floor(verdict_fields: tuple[str, str, str], floor: Verdict | None):
    """A floor (flood control's at POST time, a copy of a recent text) holds what the chain
    would publish, and shields nothing from a stricter verdict (spam, rejected)."""
    status, cause, reason = verdict_fields
    if floor is None or status in (Status.SPAM, Status.REJECTED, Status.HELD):
        return verdict_fields
    return floor.status, floor.cause, f"{floor.reason} {reason}"

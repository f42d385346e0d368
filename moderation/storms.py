"""Storm mode: an article switches itself to pre-moderation while comments pour in far above
its usual rate, or while a campaign targets it, and back once it is calm. Every switch is a
StormSwitch record; a moderator's pin (Article.storm_pin) overrides it either way."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from articles.models import Article
from moderation.models import Campaign, Comment, StormSwitch


def storm_reason(article: Article, now) -> str:
    """Why the article is in a storm now, in words, or "" if it is not. Counted by network
    (posters.poster_network), not by comment: one address's comments, under as many names as
    it likes, are one poster, and were enough to pre-moderate an article for everyone. A
    campaign counts by its networks or its comments the worker filed as spam."""
    window = timedelta(minutes=settings.REPLYGUARD_STORM_WINDOW_MINUTES)
    baseline = timedelta(hours=settings.REPLYGUARD_STORM_BASELINE_HOURS)
    recent = Q(created_at__gte=now - window)
    campaign = recent & Q(campaign__isnull=False) & ~Q(campaign__state=Campaign.State.PUBLISHED)
    counts = Comment.objects.filter(article=article, created_at__gte=now - baseline).aggregate(
        recent=Count("poster_network", filter=recent, distinct=True),
        before=Count("pk", filter=Q(created_at__lt=now - window)),
        campaign_networks=Count("poster_network", filter=campaign, distinct=True),
        campaign_spam=Count(
            "poster_network", filter=campaign & Q(status=Comment.Status.SPAM), distinct=True
        ),
    )
    usual = counts["before"] / max(1.0, (baseline - window) / window)  # comments per window
    recent, minutes = counts["recent"], f"{settings.REPLYGUARD_STORM_WINDOW_MINUTES:g}"
    needed = settings.REPLYGUARD_STORM_CAMPAIGN_COMMENTS
    if counts["campaign_networks"] >= needed:
        return (
            f"a campaign: its comments from {counts['campaign_networks']} networks "
            f"in {minutes} minutes"
        )
    if counts["campaign_spam"] >= needed:
        return f"a campaign: its spam from {counts['campaign_spam']} networks in {minutes} minutes"
    if recent >= settings.REPLYGUARD_STORM_MIN_COMMENTS and recent >= (
        settings.REPLYGUARD_STORM_FACTOR * usual
    ):
        return f"comments from {recent} networks in {minutes} minutes, about {usual:.0f} usually"
    return ""


def storms_check(articles: list[Article]) -> None:
    """Switch storm mode on (or keep it on) for each of these articles in a storm; the worker
    asks for the articles of each batch it scores. The Article objects are updated at once, for
    this batch's verdicts; the rows once the batch commits, each in a statement of its own (in
    the batch, an article row locked early would deadlock with the thread versions that
    services lock, in id order, at the end)."""
    now, clock = timezone.now(), time.monotonic()
    for article in articles:
        if article.storm_pin or not _check_due(article.pk, clock):
            continue
        reason = storm_reason(article, now)
        if not reason:
            continue
        until = now + timedelta(minutes=settings.REPLYGUARD_STORM_MINUTES)
        article.storm_until = until
        transaction.on_commit(lambda pk=article.pk, u=until, r=reason: _storm_save(pk, u, r))


# Article id -> when this process last counted its comments. The count covers a day of the
# article's comments: on a story drawing thousands, run for every batch of 100 it was a third
# of a worker's time. A storm already on stays on meanwhile (storm_until is read with the batch).
_last_checked: dict[int, float] = {}


def _check_due(article_id: int, clock: float) -> bool:
    if clock - _last_checked.get(article_id, float("-inf")) < (
        settings.REPLYGUARD_STORM_CHECK_SECONDS
    ):
        return False
    _last_checked[article_id] = clock
    return True


def storm_checks_forget() -> None:
    _last_checked.clear()


def _storm_save(article_id: int, until, reason: str) -> None:
    """Start the storm (and record it) if it is not on, else extend it: each conditional, so
    two workers seeing one storm record it once."""
    now = timezone.now()
    article = Article.objects.filter(pk=article_id, storm_pin="")
    if article.filter(Q(storm_until__isnull=True) | Q(storm_until__lte=now)).update(
        storm_until=until
    ):
        StormSwitch.objects.create(article_id=article_id, on=True, reason=f"Storm: {reason}.")
    else:
        article.filter(storm_until__lt=until).update(storm_until=until)


def storms_calm() -> int:
    """Switch storm mode off where it has run its time with no new storm; the beat runs it."""
    now = timezone.now()
    switched = 0
    for article in Article.objects.filter(storm_pin="", storm_until__lte=now).only("pk"):
        # Only if no worker extended it meanwhile: the record says what happened.
        if Article.objects.filter(pk=article.pk, storm_until__lte=now).update(storm_until=None):
            StormSwitch.objects.create(article=article, on=False, reason="Calm again: storm ended.")
            switched += 1
    return switched


def storm_pin_set(*, article: Article, pin: str, moderator) -> None:
    """A moderator pins storm mode on or off, or hands it back to the automatic switch."""
    was = article.in_storm()
    Article.objects.filter(pk=article.pk).update(storm_pin=pin, storm_until=None)
    article.storm_pin, article.storm_until = pin, None
    label = Article.StormPin(pin).label
    StormSwitch.objects.create(
        article=article, on=article.in_storm(), switched_by=moderator,
        reason=f"{label} by a moderator (was {'on' if was else 'off'}).",
    )  # fmt: skip


def storm_why(article: Article) -> str:
    """The reason its storm mode went on, as recorded (StormSwitch), for the moderators."""
    switches = StormSwitch.objects.filter(article=article, on=True).order_by("-created_at", "-pk")
    return switches.values_list("reason", flat=True).first() or "not recorded."


def articles_in_storm():
    now = timezone.now()
    return Article.objects.filter(
        Q(storm_pin=Article.StormPin.ON) | Q(storm_pin="", storm_until__gt=now)
    )

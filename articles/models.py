from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

PROBABILITY = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class Article(models.Model):
    class ModerationMode(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic: publish what the spam model clears"
        PREMODERATED = "premoderated", "Pre-moderated: hold every comment for a moderator"

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    section = models.CharField(max_length=100, blank=True)
    byline = models.CharField(max_length=300, blank=True)
    dateline = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    published_at = models.DateTimeField()

    comments_open = models.BooleanField(default=True)
    close_comments_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Close comments this many days after publication. Empty: the site default "
        "(REPLYGUARD_CLOSE_COMMENTS_AFTER_DAYS; 0 means never).",
    )
    moderation_mode = models.CharField(
        max_length=20, choices=ModerationMode.choices, default=ModerationMode.AUTOMATIC
    )
    publish_below = models.FloatField(
        null=True,
        blank=True,
        validators=PROBABILITY,
        help_text="Publish comments whose spam probability is below this. "
        "Empty: the site default (REPLYGUARD_PUBLISH_BELOW).",
    )
    spam_above = models.FloatField(
        null=True,
        blank=True,
        validators=PROBABILITY,
        help_text="File comments as spam at or above this spam probability. "
        "Empty: the site default (REPLYGUARD_SPAM_ABOVE).",
    )
    abuse_hold_at = models.FloatField(
        null=True,
        blank=True,
        validators=PROBABILITY,
        help_text="Hold comments whose abuse probability is at or above this for a moderator. "
        "Empty: the site default (REPLYGUARD_ABUSE_HOLD_AT).",
    )
    abuse_reject_at = models.FloatField(
        null=True,
        blank=True,
        validators=PROBABILITY,
        help_text="Reject comments whose abuse probability is at or above this, unseen. "
        "Empty: the site default (REPLYGUARD_ABUSE_REJECT_AT; off unless set).",
    )
    ask_before_posting = models.BooleanField(
        null=True,
        blank=True,
        help_text="Ask a reader whose comment reads as abusive, once, before it is posted, "
        "whether they want to rephrase (never blocking). Empty: the site default "
        "(REPLYGUARD_ASK_BEFORE_POSTING, off).",
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="followed_articles",
        help_text="Moderators who get a digest email of the comments held on this article.",
    )

    # Storm mode (moderation.storms): pre-moderation switched on by itself while comments pour
    # in far above the article's usual rate or a campaign targets it, until storm_until; a
    # moderator's pin ("on" / "off") overrides it either way.
    class StormPin(models.TextChoices):
        AUTOMATIC = "", "Automatic"
        ON = "on", "Pinned on: pre-moderate"
        OFF = "off", "Pinned off: never switch by itself"

    storm_until = models.DateTimeField(null=True, blank=True, editable=False)
    storm_pin = models.CharField(
        max_length=3, choices=StormPin.choices, blank=True, default="", editable=False
    )
    # The thread pages' ETag and cache key: moderation.services moves it.
    thread_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self):
        return self.title

    def clean(self):
        publish_below, spam_above = self.thresholds()
        if publish_below > spam_above:
            raise ValidationError(
                {"publish_below": f"Must not be above the spam threshold ({spam_above:.2f})."}
            )
        hold_at, reject_at = self.abuse_thresholds()
        if reject_at is not None and reject_at < hold_at:
            raise ValidationError(
                {"abuse_reject_at": f"Must not be below the abuse hold threshold ({hold_at:.2f})."}
            )

    def accepts_comments(self) -> bool:
        """Open by hand, and not past its automatic closing time."""
        closes_at = self.comments_close_at()
        return self.comments_open and (closes_at is None or timezone.now() < closes_at)

    def comments_close_at(self):
        days = self.close_comments_after_days
        if days is None:
            days = settings.REPLYGUARD_CLOSE_COMMENTS_AFTER_DAYS
        return self.published_at + timedelta(days=days) if days else None

    def in_storm(self) -> bool:
        if self.storm_pin:
            return self.storm_pin == self.StormPin.ON
        return self.storm_until is not None and timezone.now() < self.storm_until

    def premoderated(self) -> bool:
        """Every comment waits for a moderator: by its policy, or while a storm lasts."""
        return self.moderation_mode == self.ModerationMode.PREMODERATED or self.in_storm()

    def asks_before_posting(self) -> bool:
        return self._own_or_site("ask_before_posting", "REPLYGUARD_ASK_BEFORE_POSTING")

    def abuse_thresholds(self) -> tuple[float, float | None]:
        """(hold_at, reject_at or None when off): this article's override, else the site's."""
        return (
            self._own_or_site("abuse_hold_at", "REPLYGUARD_ABUSE_HOLD_AT"),
            self._own_or_site("abuse_reject_at", "REPLYGUARD_ABUSE_REJECT_AT"),
        )

    def thresholds(self) -> tuple[float, float]:
        """(publish_below, spam_above): this article's override, else the site default."""
        return (
            self._own_or_site("publish_below", "REPLYGUARD_PUBLISH_BELOW"),
            self._own_or_site("spam_above", "REPLYGUARD_SPAM_ABOVE"),
        )

    def _own_or_site(self, field: str, setting: str):
        """This article's `field`, or the site default `setting` where it has none (None)."""
        value = getattr(self, field)
        return getattr(settings, setting) if value is None else value

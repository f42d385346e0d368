import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Abs, Coalesce


@dataclass(frozen=True)
class Verdict:
    """A decision not yet applied: the status to move one comment to, and why (policy returns
    them, services.verdicts_apply applies them). A value, not a table."""

    status: str
    cause: str = ""
    reason: str = ""
    rule_hits: list[str] | None = None  # None: leave the stored ones
    spam_score: float | None = None  # None: leave the stored score, version and reasons
    model_version: str = ""
    spam_reasons: list[str] | None = None
    abuse_score: float | None = None  # None: leave the stored abuse score, version and words
    abuse_model_version: str = ""
    abuse_words: list | None = None  # [start, end] of each word of the body that made it


class CommentQuerySet(models.QuerySet):
    def published(self):
        """What readers may see: published comments only."""
        return self.filter(status=Comment.Status.PUBLISHED)

    def labeled_by_moderators(self, statuses=("published", "spam")):
        """Comments whose latest decision *by a person* was to one of `statuses` (by default
        publish (ham) or spam (spam)), with that status as `moderator_decision`: the training
        labels. The model's own decisions (decided_by is null) never count, and a later human
        change of mind wins."""
        latest_human = (
            Decision.objects.filter(comment=models.OuterRef("pk"), decided_by__isnull=False)
            .order_by("-created_at", "-id")
            .values("to_status")[:1]
        )
        return self.annotate(moderator_decision=models.Subquery(latest_human)).filter(
            moderator_decision__in=statuses
        )

    def queue(self):
        """The moderation queue: held comments, in the order a moderator should look at them:
        most reported first, then (where the newsroom asks, REPLYGUARD_QUEUE_ABUSE_FIRST) the
        most abusive, then the ones the spam model was least sure of (score nearest 0.5;
        unscored first), then oldest first. Each order has its index (queue_order_index):
        with 140,000 held, a page read 50 rows through it instead of sorting them all."""
        return (
            self.filter(status=Comment.Status.HELD)
            .select_related("article", "parent")
            .order_by(*queue_order(abuse_first=settings.REPLYGUARD_QUEUE_ABUSE_FIRST))
        )


def queue_order(*, abuse_first: bool) -> list:
    """The queue's sort keys, as its indexes spell them: no NULLS FIRST/LAST (SQLite's indexes
    cannot say it), so an unscored comment counts as 0.5 (most uncertain) and as no abuse."""
    uncertainty = Abs(Coalesce(models.F("spam_score"), 0.5) - 0.5)
    order = [models.F("report_count").desc()]
    if abuse_first:
        order.append(Coalesce(models.F("abuse_score"), 0.0).desc())
    return [*order, uncertainty.asc(), models.F("created_at").asc(), models.F("id").asc()]


def queue_order_index(*, abuse_first: bool, name: str) -> models.Index:
    return models.Index(
        *queue_order(abuse_first=abuse_first), name=name, condition=models.Q(status="held")
    )


class Cause(models.TextChoices):
    """Why a comment has its status: one code per rule or policy, filtered on in the admin."""

    MODEL = "model", "Spam model score"
    NO_MODEL = "no_model", "No spam model installed"
    LINKS = "links", "Too many links"
    SUSPECT_WORD = "suspect_word", "Suspect word"
    BANNED_WORD = "banned_word", "Banned word"
    BLOCKED_DOMAIN = "blocked_domain", "Link to a blocked domain"
    PREMODERATED = "premoderated", "Article is pre-moderated"
    NEW_AUTHOR = "new_author", "New author"
    TRUSTED_AUTHOR = "trusted_author", "Trusted author"  # no longer given: old decisions keep it
    BOT_CHECK = "bot_check", "Bot check (honeypot or sent too fast)"
    DUPLICATE = "duplicate", "Repeat of a recent comment's text"
    FLOOD = "flood", "Too soon after the email's last comment"
    REPORTS = "reports", "Reader reports"
    MODERATOR = "moderator", "Moderator"
    TEST_TRIGGER = "test_trigger", "Akismet's test trigger (an external check)"
    CAMPAIGN = "campaign", "Part of a campaign a moderator binned"
    ABUSE = "abuse", "Abuse (insults, threats)"


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending (waiting for the spam check)"
        PUBLISHED = "published", "Published"
        HELD = "held", "Held for a moderator"
        SPAM = "spam", "Spam"
        REJECTED = "rejected", "Rejected"

    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    # The top-level comment of the thread (null for a top-level comment): a page of threads
    # loads all its replies in one query.
    thread = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    depth = models.PositiveSmallIntegerField(default=0, help_text="0 for a top-level comment.")
    author_name = models.CharField(max_length=100)
    author_email = models.EmailField(max_length=254, help_text="Private: staff only.")
    author_url = models.URLField(max_length=200, blank=True)
    body = models.TextField()
    # rules.text_fingerprint of the body as posted: what "the same text" means to the duplicate
    # check, whatever the case, spacing, NBSP or zero-width characters.
    body_fingerprint = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    # The nonce of the form token it was sent with: unique, so one token serves one comment.
    form_nonce = models.CharField(max_length=32, null=True, blank=True, unique=True, editable=False)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    spam_score = models.FloatField(null=True, blank=True, help_text="Spam probability, 0–1.")
    model_version = models.CharField(max_length=64, blank=True)
    spam_reasons = models.JSONField(
        default=list, blank=True, help_text="What pushed the spam score up most, per the model."
    )
    # What decided the current status, as a code moderators can filter the queue by, and the
    # rules that fired (in words) when it was scored.
    cause = models.CharField(max_length=20, choices=Cause.choices, blank=True)
    rule_hits = models.JSONField(default=list, blank=True, help_text="Rules that fired.")
    abuse_score = models.FloatField(null=True, blank=True, help_text="Abuse probability, 0–1.")
    # How many readers reported it (Report.save keeps it): the queue sorts by it, and a count
    # per held comment at every page view was most of the page's time.
    report_count = models.PositiveIntegerField(default=0, db_default=0)
    # Database defaults as well: bulk loads that name no abuse column (a benchmark's COPY, an
    # import) still insert.
    abuse_model_version = models.CharField(max_length=64, blank=True, default="", db_default="")
    abuse_words = models.JSONField(
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
        help_text="[start, end] in the body of each word that made it.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    ip_address = models.GenericIPAddressField(
        "IP address", null=True, blank=True, help_text="Private."
    )
    # What flood control and rate limits count as one poster (posters.poster_network): the
    # IPv4 address, or the IPv6 address's /64, which one subscriber can rotate through freely.
    poster_network = models.GenericIPAddressField(null=True, blank=True, editable=False)
    # Set once the address is cut to its network (/24, /48) after the retention period.
    ip_truncated = models.BooleanField(default=False)
    user_agent = models.CharField(max_length=512, blank=True, help_text="Private.")
    # The spam wave it belongs to, if any (moderation/campaigns/ groups them).
    campaign = models.ForeignKey(
        "Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["article", "status", "created_at"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["created_at", "id"]),  # the admin's newest-first list
            # A page of an article's threads, and their count, from the index alone.
            models.Index(
                fields=["article", "created_at", "id"],
                condition=models.Q(status="published", parent=None),
                name="published_threads",
            ),
            # Flood control, duplicates and the author's history look comments up by these.
            models.Index(fields=["author_email", "created_at"]),
            models.Index(fields=["poster_network", "created_at"]),
            models.Index(fields=["body_fingerprint", "created_at"]),  # flood.recent_copies
            queue_order_index(abuse_first=False, name="queue_order"),
            queue_order_index(abuse_first=True, name="queue_order_abuse_first"),
        ]
        permissions = [("moderate_comment", "Can publish, hold, reject or mark comments as spam")]

    def __str__(self):
        return f"#{self.pk} by {self.author_name}"

    def clean(self):
        if self.parent_id and self.parent.article_id != self.article_id:
            raise ValidationError({"parent": "A reply must be on the same article as its parent."})


class Decision(models.Model):
    """One status change of a comment: the audit trail, and later the model's training labels."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="decisions")
    # Null means the system (the spam model) decided; a person's decisions are kept even if
    # their account would be deleted, so deleting a moderator with decisions is refused.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    from_status = models.CharField(max_length=10, choices=Comment.Status.choices)
    to_status = models.CharField(max_length=10, choices=Comment.Status.choices)
    spam_score = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        who = self.decided_by or "system"
        return f"{self.from_status} → {self.to_status} by {who}"


def attach_published_replies(threads: list[Comment]) -> None:
    """Give each comment of these threads `published_replies`, in one query for the whole page.

    A reply shows only under a published parent, so hiding a comment hides its sub-thread.
    """
    by_id = {}
    for comment in threads:
        comment.published_replies = []
        by_id[comment.pk] = comment
    replies = Comment.objects.published().filter(thread__in=list(by_id)).order_by("pk")
    for reply in replies:  # a parent has a lower pk than its replies: already in by_id
        reply.published_replies = []
        parent = by_id.get(reply.parent_id)
        if parent is not None:
            parent.published_replies.append(reply)
            by_id[reply.pk] = reply


class AuthorDataRequest(models.Model):
    """The audit record of a reader's data being exported or erased on their request."""

    class Kind(models.TextChoices):
        EXPORT = "export", "Exported"
        ERASE = "erase", "Erased"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A hash, not the address: an erasure must not leave the address behind in its own record.
    email_sha256 = models.CharField(max_length=64, db_index=True)
    comments = models.PositiveIntegerField()
    bodies_removed = models.BooleanField(default=False)
    # Null: done from the command line.
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.comments} comment(s)"


class Report(models.Model):
    """A reader's report of a published comment. Never a training label."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSIVE = "abusive", "Abusive"
        OFF_TOPIC = "off_topic", "Off-topic"
        OTHER = "other", "Other"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    # Hashes, not the values: they only have to tell one reader from another.
    reporter_ip_sha256 = models.CharField(max_length=64)
    reporter_email_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "reporter_ip_sha256"], name="one_report_per_ip"
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} report on #{self.comment_id}"

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # counted on the comment, which the queue sorts by
            reported = Comment.objects.filter(pk=self.comment_id)
            reported.update(report_count=models.F("report_count") + 1)


class HeldComment(Comment):
    """The moderation queue in the admin: the same rows, its own page and permission."""

    class Meta:
        proxy = True
        verbose_name = "held comment"
        verbose_name_plural = "held comments (the queue)"


class WordRule(models.Model):
    """A word or phrase that holds or rejects a comment before the model scores it. Matched as
    a whole word, ignoring case: "cialis" does not fire inside "specialist"."""

    class Action(models.TextChoices):
        HOLD = "hold", "Suspect: hold for a moderator"
        REJECT = "reject", "Banned: reject"

    phrase = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.HOLD)
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True, help_text="Why this rule exists.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phrase"]

    def __str__(self):
        return f"{self.get_action_display()}: {self.phrase}"

    def clean(self):
        self.phrase = " ".join(self.phrase.split())
        if not self.phrase:
            raise ValidationError({"phrase": "Enter a word or phrase."})


class HeldDigest(models.Model):
    """One digest email sent to a moderator about comments held on the articles they follow.
    The latest one per moderator says where the next digest starts."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    comments = models.PositiveIntegerField()
    # Covers comments held up to this moment; the next digest starts here.
    held_until = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_until"]

    def __str__(self):
        return f"{self.comments} held comment(s) to {self.recipient}"


class ShadowScore(models.Model):
    """What a candidate model (spam or abuse, in shadow mode) would have decided for a live
    comment, beside what the active models and the rules did decide. It never changes the
    comment."""

    class Kind(models.TextChoices):
        SPAM = "spam", "spam model"
        ABUSE = "abuse", "abuse model"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="shadow_scores")
    kind = models.CharField(
        max_length=5, choices=Kind.choices, default=Kind.SPAM, db_default=Kind.SPAM,
        help_text="Which model the candidate would replace.",
    )  # fmt: skip
    model_version = models.CharField(max_length=64)
    spam_score = models.FloatField(
        null=True, blank=True, help_text="The spam probability beside the candidate's decision."
    )
    abuse_score = models.FloatField(
        null=True, blank=True, help_text="The abuse probability beside the candidate's decision."
    )
    active_abuse_score = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Comment.Status.choices, help_text="What the candidate would decide."
    )
    active_score = models.FloatField(null=True, blank=True)
    active_status = models.CharField(
        max_length=10, choices=Comment.Status.choices, help_text="What was decided."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "model_version"], name="one_shadow_score_per_version"
            ),
        ]
        indexes = [models.Index(fields=["model_version", "created_at"])]

    def __str__(self):
        return f"{self.model_version} on #{self.comment_id}: {self.status}"

    @property
    def agrees(self) -> bool:
        return self.status == self.active_status

    @property
    def scores_compared(self) -> tuple[float | None, float | None]:
        """(the active model's, the candidate's) score, of the model the candidate would replace."""
        if self.kind == self.Kind.ABUSE:
            return self.active_abuse_score, self.abuse_score
        return self.active_score, self.spam_score


class LinkDomain(models.Model):
    """The reputation of a registered domain (reuters.com, not www.reuters.com) that comments
    link to. Trusted: a source readers cite (the model reads it as such, and it does not count
    toward the link limit). Blocked: any comment linking to it is filed as spam. Seeded with
    news outlets, encyclopaedias and public bodies; learned from moderators' decisions; edited
    in the admin, where a person's word is final."""

    class Reputation(models.TextChoices):
        TRUSTED = "trusted", "Trusted source"
        NEUTRAL = "neutral", "Unknown"
        BLOCKED = "blocked", "Blocked"

    class Source(models.TextChoices):
        SEED = "seed", "Seed list"
        LEARNED = "learned", "Learned from moderators"
        STAFF = "staff", "Set by staff"

    domain = models.CharField(max_length=253, unique=True, help_text="e.g. reuters.com")
    reputation = models.CharField(
        max_length=10, choices=Reputation.choices, default=Reputation.NEUTRAL
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    published = models.PositiveIntegerField(
        default=0, help_text="Comments linking here that a moderator published."
    )
    binned = models.PositiveIntegerField(
        default=0, help_text="Comments linking here that a moderator filed as spam."
    )
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return f"{self.domain} ({self.get_reputation_display()})"

    def clean(self):
        # As readers' links are read (domains.host_of): " WWW.Reuters.com " is reuters.com,
        # before the form checks that the domain is not listed already.
        from moderation.domains import host_of

        self.domain = host_of(self.domain.strip().lower())
        if not self.domain:
            raise ValidationError({"domain": "Enter a domain, such as reuters.com."})


class SiteKey(models.Model):
    """Another site's key to the Akismet-compatible API (moderation/akismet/views.py). The key is
    shown once, at creation, and stored as its SHA-256 only: it is 128 random bits, so a fast
    hash is enough, and a lookup by it is one index probe."""

    name = models.CharField(max_length=100, help_text="The site, as moderators call it.")
    blogs = models.TextField(
        help_text="The site's URL(s) it may send as `blog`, one per line; compared by host name."
    )
    active = models.BooleanField(default=True, help_text="An inactive key is answered 'invalid'.")
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=8, editable=False, help_text="The key's first letters.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Its last use and its count of checks are read from its checks (SiteKeyAdmin), not
    # written on each one: a counter row every check updates would serialize them all.

    class Meta:
        verbose_name = "site key"
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class ExternalCheck(models.Model):
    """One comment another site asked about (comment-check) or reported (submit-spam/-ham):
    what it sent, what the rules and the model made of it, and its label for training. The
    reader's fields are private, as a comment's are: retention, export and erasure reach them."""

    class Label(models.TextChoices):
        SPAM = "spam", "Spam"
        HAM = "ham", "Not spam"

    class LabelSource(models.TextChoices):
        SITE = "site", "The site (submit-spam / submit-ham)"
        MODERATOR = "moderator", "A moderator here"

    site = models.ForeignKey(SiteKey, on_delete=models.PROTECT, related_name="checks")
    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    checked = models.BooleanField(default=True, help_text="False: only reported, never checked.")
    is_test = models.BooleanField(default=False)
    blog = models.CharField(max_length=200, blank=True)
    permalink = models.CharField(max_length=500, blank=True)
    comment_type = models.CharField(max_length=40, blank=True)

    author_name = models.CharField(max_length=100, blank=True)
    author_email = models.CharField(max_length=254, blank=True, help_text="Private.")
    author_url = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    body_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(
        "IP address", null=True, blank=True, help_text="Private."
    )
    poster_network = models.GenericIPAddressField(null=True, blank=True, editable=False)
    ip_truncated = models.BooleanField(default=False)
    user_agent = models.CharField(max_length=512, blank=True, help_text="Private.")

    # What ReplyGuard made of it, as it would of a comment posted here.
    status = models.CharField(max_length=10, choices=Comment.Status.choices, blank=True)
    cause = models.CharField(max_length=20, choices=Cause.choices, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    spam_score = models.FloatField(null=True, blank=True, help_text="Spam probability, 0–1.")
    model_version = models.CharField(max_length=64, blank=True)
    spam_reasons = models.JSONField(default=list, blank=True)
    rule_hits = models.JSONField(default=list, blank=True)
    spam = models.BooleanField(null=True, help_text="The answer: spam (true) or not (false).")
    discard = models.BooleanField(default=False, help_text="Blatant: the site may drop it unseen.")

    label = models.CharField(max_length=4, choices=Label.choices, blank=True)
    label_source = models.CharField(max_length=10, choices=LabelSource.choices, blank=True)
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    labelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "external check"
        ordering = ["-created_at", "-id"]
        indexes = [
            # Flood control and duplicates, per site, as for comments.
            models.Index(fields=["site", "poster_network", "created_at"]),
            models.Index(fields=["site", "author_email", "created_at"]),
            models.Index(fields=["author_email"]),  # export and erasure
            models.Index(fields=["label", "label_source"]),  # training labels
        ]

    def __str__(self):
        return f"{self.site} check {self.guid}"


class Campaign(models.Model):
    """Comments that belong together across authors (moderation/campaigns/): near-identical
    text, or the same unusual link domain. A moderator decides it whole; once binned, the worker
    files new comments that join it as spam; once published, it holds nothing back."""

    class State(models.TextChoices):
        OPEN = "open", "Open: not decided"
        BINNED = "binned", "Binned: new comments that join it are spam"
        PUBLISHED = "published", "Published: legitimate, it holds nothing"
        HELD = "held", "Held: its comments wait for a moderator"

    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    grouped_by = models.CharField(
        max_length=200, blank=True, help_text="What its comments share, in words."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Campaign #{self.pk}: {self.grouped_by}"


class CampaignKey(models.Model):
    """The lookup behind campaigns: per comment, one row per band of its text's MinHash
    signature and per unusual link domain it names. A new comment's keys find the comments it
    may belong with in one indexed query."""

    key = models.BigIntegerField()
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "created_at"])]

    def __str__(self):
        return f"{self.key} of comment {self.comment_id}"


class TextSignature(models.Model):
    """A comment's MinHash signature (what campaigns compare near-duplicates by)."""

    comment = models.OneToOneField(
        Comment, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    values = models.BinaryField()

    def __str__(self):
        return f"signature of comment {self.comment_id}"


class StormSwitch(models.Model):
    """Storm mode switched on or off for an article (moderation.storms): the audit trail."""

    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="storm_switches"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    on = models.BooleanField(help_text="On: every new comment waits for a moderator.")
    reason = models.CharField(max_length=300)
    switched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "storm switches"

    def __str__(self):
        return f"{self.article}: storm mode {'on' if self.on else 'off'}"

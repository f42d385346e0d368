"""Other sites' comments, through the Akismet-compatible API (akismet/views.py): their keys,
a check scored by the same rules and the same active model as a comment posted here, and their
spam/ham reports kept as labels of their own."""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from articles.models import Article
from moderation import domains, rules
from moderation.models import Cause, Comment, ExternalCheck, SiteKey, Verdict
from moderation.policy import Case, verdicts_reach
from moderation.posters import poster_network

Status = Comment.Status
Label = ExternalCheck.Label

# Akismet's documented test triggers: always spam, always ham.
GUARANTEED_SPAM = "akismet-guaranteed-spam"
GUARANTEED_SPAM_EMAIL = "akismet-guaranteed-spam@example.com"
ALWAYS_HAM_ROLE = "administrator"
# A site's reader has no history here: neither new (held for that) nor trusted (published).
NO_STANDING = rules.AuthorStanding(published=1, rejected=1)


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def site_key_create(*, name: str, blogs: list[str], active: bool = True) -> tuple[SiteKey, str]:
    """A new key for a site: (the SiteKey, the key itself, to show once and never again)."""
    key = secrets.token_hex(16)  # 32 hex characters: also a valid host-name label
    site = SiteKey.objects.create(
        name=name,
        blogs="\n".join(blogs),
        active=active,
        key_sha256=key_sha256(key),
        key_hint=key[:4],
    )
    return site, key


def blog_host(url: str) -> str:
    return domains.host_of(url.strip().lower())


def site_for(*, key: str, blog: str) -> SiteKey | None:
    """The active site this key belongs to, if `blog` is one of its URLs; else None."""
    site = SiteKey.objects.filter(key_sha256=key_sha256(key), active=True).first()
    if site and blog_host(blog) in {blog_host(url) for url in site.blogs.split()}:
        return site
    return None


@dataclass(frozen=True)
class Submission:
    """What a site sent about one comment, cut to the lengths we store."""

    blog: str
    user_ip: str | None
    user_agent: str = ""
    author_name: str = ""
    author_email: str = ""
    author_url: str = ""
    body: str = ""
    permalink: str = ""
    comment_type: str = ""
    user_role: str = ""
    is_test: bool = False
    honeypot_filled: bool = False
    recheck: bool = False  # recheck_reason: a comment the site checked before, not a repeat

    def scored_characters(self) -> int:
        """What the model reads: the work a check costs grows with it."""
        return len(self.body) + len(self.author_name) + len(self.author_url)

    def stored_fields(self) -> dict:
        return {
            "blog": self.blog,
            "permalink": self.permalink,
            "comment_type": self.comment_type,
            "is_test": self.is_test,
            "author_name": self.author_name,
            "author_email": self.author_email,
            "author_url": self.author_url,
            "body": self.body,
            "body_fingerprint": rules.text_fingerprint(self.body),
            "ip_address": self.user_ip,
            "poster_network": poster_network(self.user_ip),
            "user_agent": self.user_agent,
        }


_rules_read = {"at": float("-inf"), "value": None}


def rule_lists_kept() -> rules.RuleLists:
    """The word rules and domain lists, read at most once per REPLYGUARD_AKISMET_RULES_SECONDS
    per process: two queries of a check's six otherwise. A change made in this process (the
    admin) applies at once (rules_forget, on save); one made elsewhere within that time."""
    now = time.monotonic()
    if now - _rules_read["at"] >= settings.REPLYGUARD_AKISMET_RULES_SECONDS:
        _rules_read.update(at=now, value=rules.rule_lists())
    return _rules_read["value"]


def rules_forget(**signal) -> None:
    _rules_read["at"] = float("-inf")


def site_policy() -> Article:
    # Unsaved: no thresholds of its own (so the site defaults) and automatic moderation.
    return Article()


def external_check_run(*, site: SiteKey, submission: Submission) -> ExternalCheck:
    """Score another site's comment as one posted here would be (rules, then flood control and
    duplicates among that site's checks, then the active model under the site defaults), and
    record it. The answer: spam unless the verdict would publish it or only asks a person
    to look (links, suspect words); discard when it is blatant (the spam band, a banned word)."""
    stored = submission.stored_fields()
    lists = rule_lists_kept()
    case = Case(
        body=submission.body,
        author_name=submission.author_name,
        author_url=submission.author_url,
        article=site_policy(),
        standing=NO_STANDING,
    )
    # Akismet's protocol answers spam or not: abuse is this newsroom's own desk's business.
    (scored,) = verdicts_reach([case], lists=lists, abuse_model=None)
    verdict = _forced_verdict(submission)
    if verdict is None and not submission.recheck:
        verdict = _recent_verdict(site, stored)
    verdict = verdict or scored
    is_spam = verdict.status in (Status.SPAM, Status.REJECTED) or (
        verdict.status == Status.HELD and verdict.cause in (Cause.MODEL, Cause.FLOOD)
    )
    discard = verdict.cause == Cause.BANNED_WORD or (
        verdict.status == Status.SPAM and verdict.cause == Cause.MODEL
    )
    check = ExternalCheck.objects.create(
        site=site,
        **stored,
        status=verdict.status,
        cause=verdict.cause,
        reason=verdict.reason[:300],
        spam_score=scored.spam_score,
        model_version=scored.model_version,
        spam_reasons=scored.spam_reasons or [],
        rule_hits=scored.rule_hits,
        spam=is_spam,
        discard=is_spam and discard,
    )
    return check


def _forced_verdict(submission: Submission) -> Verdict | None:
    """Akismet's test triggers, then the site's honeypot: they decide before anything else."""
    if GUARANTEED_SPAM in (submission.author_name, submission.author_email.lower()) or (
        submission.author_email.lower() == GUARANTEED_SPAM_EMAIL
    ):
        return Verdict(Status.SPAM, Cause.TEST_TRIGGER, "Akismet's test trigger: always spam.")
    if submission.user_role.lower() == ALWAYS_HAM_ROLE:
        return Verdict(Status.PUBLISHED, Cause.TEST_TRIGGER, "user_role administrator: never spam.")
    if submission.honeypot_filled:
        return Verdict(Status.SPAM, Cause.BOT_CHECK, "The site's honeypot field was filled in.")
    return None


def _recent_verdict(site: SiteKey, stored: dict) -> Verdict | None:
    """Flood control and duplicates among this site's recent checks, as for our own comments
    (flood.poster_recent_check), in one query: the same text again from the same address or
    email, or the same address again too soon."""
    network, email = stored["poster_network"], stored["author_email"]
    if not (network or email):
        return None
    now = timezone.now()
    duplicates = timedelta(hours=settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS)
    flood = timedelta(seconds=settings.REPLYGUARD_FLOOD_SECONDS)
    by_ip = Q(poster_network=network) if network else Q(pk__in=[])
    same_poster = by_ip | Q(author_email=email) if email else by_ip
    found = site.checks.filter(
        same_poster, checked=True, created_at__gte=now - max(duplicates, flood)
    ).aggregate(
        repeats=Count(
            "pk",
            filter=Q(body_fingerprint=stored["body_fingerprint"], created_at__gte=now - duplicates)
            & ~Q(body=""),
        ),
        soon=Count("pk", filter=by_ip & Q(created_at__gt=now - flood)),
    )
    if found["repeats"]:
        reason = "A repeat of a recent comment from the same poster."
        return Verdict(Status.SPAM, Cause.DUPLICATE, reason)
    if found["soon"]:
        return Verdict(Status.HELD, Cause.FLOOD, "Too soon after the same address's last comment.")
    return None


@transaction.atomic
def external_label_record(*, site: SiteKey, submission: Submission, label: str) -> ExternalCheck:
    """A site's submit-spam / submit-ham: the label goes on the check it names (the site's
    latest of that text from that address or email), or on a new record if it never asked.
    A moderator's label on the same check stands: the site's does not overwrite it."""
    stored = submission.stored_fields()
    same_poster = Q(ip_address=submission.user_ip) if submission.user_ip else Q(pk__in=[])
    if submission.author_email:
        same_poster |= Q(author_email=submission.author_email)
    check = (
        site.checks.select_for_update()
        .filter(same_poster, body_fingerprint=stored["body_fingerprint"])
        .order_by("-created_at", "-id")
        .first()
    )
    if check is None:
        check = ExternalCheck(site=site, checked=False, **stored)
    if check.label_source != ExternalCheck.LabelSource.MODERATOR:
        check.label, check.label_source = label, ExternalCheck.LabelSource.SITE
        check.labelled_at = timezone.now()
        check.save()
    return check


def external_site_labels_drop(checks) -> int:
    """Take these checks' site labels out of training (a moderator distrusts a key's labels);
    a moderator's own labels stay."""
    site_labelled = checks.filter(label_source=ExternalCheck.LabelSource.SITE)
    return site_labelled.update(label="", label_source="", labelled_at=None)


def external_checks_label(checks, *, label: str, moderator) -> int:
    """A moderator's correction: it counts as a label, as a site's submit-spam / submit-ham
    does, and wins over the site's."""
    return checks.update(
        label=label,
        label_source=ExternalCheck.LabelSource.MODERATOR,
        labelled_by=moderator,
        labelled_at=timezone.now(),
    )

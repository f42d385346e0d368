"""The moderators' digest: one email per moderator per interval, listing the comments newly held
on the articles they follow (never one mail per comment)."""

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone

from moderation.models import Comment, HeldDigest
from moderation.storms import articles_in_storm
from moderation.wording import percent

DIGEST_MAX_COMMENTS = 50  # the rest are counted, not listed: the queue has them all


def held_digest_send() -> int:
    """Send each staff member who follows articles their digest, if anything new was held.
    Returns how many emails were sent."""
    until = timezone.now()
    followers = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, followed_articles__isnull=False)
        .exclude(email="")
        .distinct()
    )
    sent = 0
    for user in followers:
        since = HeldDigest.objects.filter(recipient=user).values_list("held_until", flat=True)
        held = Comment.objects.filter(
            status=Comment.Status.HELD, article__followers=user, decided_at__lte=until
        )
        if since.first() is not None:
            held = held.filter(decided_at__gt=since.first())
        count = held.count()
        if not count:
            continue
        listed = held.select_related("article").order_by("article__title", "decided_at")
        stormy = [a.title for a in articles_in_storm().filter(followers=user)]
        send_mail(
            subject=f"[ReplyGuard] {count} comment(s) held on articles you follow",
            message=digest_text(listed[:DIGEST_MAX_COMMENTS], count, stormy),
            from_email=None,
            recipient_list=[user.email],
        )
        HeldDigest.objects.create(recipient=user, comments=count, held_until=until)
        sent += 1
    return sent


def digest_text(comments, count: int, stormy: list[str] = ()) -> str:
    """The mail body: articles in storm mode, then per article the comments held: author name
    (never the email), the start of the text, and why."""
    queue = settings.REPLYGUARD_SITE_URL + reverse("admin:moderation_heldcomment_changelist")
    lines = [f"{count} comment(s) are waiting for a moderator. The queue: {queue}", ""]
    for title in stormy:
        lines.append(f"Storm mode is on for {one_line(title)}: every new comment is held.")
    article = None
    for comment in comments:
        if comment.article_id != article:
            article = comment.article_id
            lines += ["", comment.article.title]
        why = comment.get_cause_display() or "held"
        name, body = one_line(comment.author_name), truncatechars(one_line(comment.body), 100)
        lines.append(f"  #{comment.pk} {name}: {body}")
        lines.append(f"      {why}; score {_score(comment.spam_score)}")
    if count > len(comments):
        lines += ["", f"...and {count - len(comments)} more in the queue."]
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """A reader's text on one line of the mail: line breaks and every control or format
    character (bidi overrides included) become one space, so a name or body cannot forge lines
    of its own ("5 comment(s) are waiting. The queue: http://phish.example/...")."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(cleaned.split())


def _score(score: float | None) -> str:
    return "none" if score is None else percent(score)

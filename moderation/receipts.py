"""A comment's receipt: what lets its author, and only its author, see what became of it (the
widget shows "awaiting moderation" until it is decided). An HMAC of the comment's id keyed with
SECRET_KEY: nothing to store, and without the key no receipt can be made for another's comment."""

from django.utils.crypto import constant_time_compare, salted_hmac

from moderation.models import Cause, Comment

PURPOSE = "replyguard.comment-receipt"
Status = Comment.Status

# What the author is told: never why, and never held apart from pending.
AUTHOR_STATUS = {
    Status.PENDING: "awaiting_moderation",
    Status.HELD: "awaiting_moderation",
    Status.PUBLISHED: "published",
    Status.SPAM: "not_published",
    Status.REJECTED: "not_published",
}


# Decided from what the poster cannot see: a bot check, flood control by the email, a copy of a
# recent text, a campaign (binned for an unknown email, held for one with published comments).
# Telling those apart from a normal pending comment would make the receipt an oracle (did this
# email post just now? has it published before?), so their author sees them wait.
DECIDED_UNSEEN = {Cause.DUPLICATE, Cause.BOT_CHECK, Cause.FLOOD, Cause.CAMPAIGN}


def author_status(comment: Comment) -> str:
    if comment.cause in DECIDED_UNSEEN:
        return "awaiting_moderation"
    return AUTHOR_STATUS[comment.status]


def comment_receipt(comment_id: int) -> str:
    return salted_hmac(PURPOSE, str(comment_id), algorithm="sha256").hexdigest()[:32]


def comment_for_receipt(comment_id: int, receipt: str) -> Comment | None:
    """The comment this receipt is for, or None (a wrong receipt and a missing comment look
    the same)."""
    if not constant_time_compare(receipt or "", comment_receipt(comment_id)):
        return None
    return Comment.objects.filter(pk=comment_id).first()

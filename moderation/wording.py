"""What the moderators' desk says, in words: scores as percentages, who decided."""

import math

from moderation.models import Decision


def percent(fraction: float | None, *, most: int = 99) -> str:
    """ "97%". Floored, so "99%" means at least the default 0.99 spam threshold; a score is
    capped at 99% (most=100 for a rate), as no model's score is a certainty."""
    if fraction is None:
        return "—"
    return f"{min(math.floor(fraction * 100 + 1e-9), most)}%"


def why(record) -> str:
    """A comment's (or another site's check's) status in words: the cause first, with the rules
    that fired, then what the model weighed, labelled as such: a comment held by the link rule
    at 8% must not read as if its words were suspicious."""
    parts = []
    if record.cause:
        hits = f" ({'; '.join(record.rule_hits)})" if record.rule_hits else ""
        parts.append(record.get_cause_display() + hits)
    elif record.rule_hits:
        parts.append("; ".join(record.rule_hits))
    if record.spam_reasons:
        weighed = ", ".join(record.spam_reasons)
        parts.append(f"the spam model ({percent(record.spam_score)}) weighed {weighed}")
    words = getattr(record, "abuse_words", None)  # another site's check has no abuse score
    if words:
        read = ", ".join(repr(record.body[start:end]) for start, end in words[:5])
        parts.append(f"the abuse model ({percent(record.abuse_score)}) read {read}")
    return "; ".join(parts) or "—"


def who_decided(decision: Decision) -> str:
    """Who decided: the moderator, a rule, or the model by its version; never a blank."""
    if decision.decided_by_id is not None:
        return str(decision.decided_by)
    if decision.reason.startswith("Rule:"):
        return "rule"
    if decision.model_version:
        return f"model {decision.model_version}"
    return "the service"

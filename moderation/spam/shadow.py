"""Shadow mode: a candidate model (spam or abuse) scores live comments beside the active one,
silently. It decides nothing; its ShadowScore rows show a moderator where the two would
disagree. Which version is a candidate: the model directory's SHADOW (spam/versions.py)."""

import logging

from django.db import transaction
from django.db.models import Count, F
from django.template.defaultfilters import truncatechars

from moderation import abuse, spam
from moderation.models import Comment, ShadowScore, Verdict
from moderation.policy import Case, Reused, verdicts_reach
from moderation.rules import RuleLists

logger = logging.getLogger(__name__)
Kind = ShadowScore.Kind


# --- Scoring beside the active models -----------------------------------------------------------


def shadow_scores_record(
    comments: list[Comment], cases: list[Case], decided: list[Verdict], *, lists: RuleLists
) -> int:
    """Score `cases` with each candidate in shadow mode, if one loads, through the same chain as
    the active models (policy.verdicts_reach, with the batch's `lists`; the other model's scores
    are the active pass's, not computed again), and record what it would decide next to
    `decided`. Returns how many rows it recorded. Never raises: the comments are decided the
    same with or without a candidate."""
    if not cases:
        return 0
    recorded = 0
    for kind in Kind:
        try:
            candidate = spam.shadow_model() if kind == Kind.SPAM else abuse.shadow_model()
            if candidate is None:
                continue
            if kind == Kind.SPAM:
                models = {"model": candidate, "abuse_model": Reused.abuse_of(decided)}
            else:
                models = {"model": Reused.spam_of(decided), "abuse_model": candidate}
            would = verdicts_reach(cases, lists=lists, explain=False, **models)
            recorded += _record(kind, candidate.version, comments, would, decided)
        except Exception:
            logger.exception("Shadow scoring (%s) failed; the batch is decided without it", kind)
    return recorded


def _record(kind, version: str, comments, would: list[Verdict], decided: list[Verdict]) -> int:
    rows = [
        ShadowScore(
            comment=comment,
            kind=kind,
            model_version=version,
            spam_score=candidate.spam_score,
            abuse_score=candidate.abuse_score,
            status=candidate.status,
            active_score=verdict.spam_score,
            active_abuse_score=verdict.abuse_score,
            active_status=verdict.status,
        )
        for comment, candidate, verdict in zip(comments, would, decided, strict=True)
    ]
    # A savepoint: on PostgreSQL a failed INSERT would abort the scoring batch's transaction,
    # and with it the decisions. ignore_conflicts: a re-scored comment keeps its first row.
    with transaction.atomic():
        ShadowScore.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- The evidence -------------------------------------------------------------------------------


def shadow_report(version: str, *, examples: int = 10) -> dict:
    """How often and where `version` disagreed with what was decided, in two queries: the
    counts per (decided, candidate) status pair, and the latest `examples` disagreements."""
    scores = ShadowScore.objects.filter(model_version=version)
    pairs = scores.values("active_status", "status").annotate(count=Count("id")).order_by()
    matrix = sorted(pairs, key=lambda pair: (-pair["count"], pair["active_status"]))
    total = sum(pair["count"] for pair in matrix)
    agreeing = sum(pair["count"] for pair in matrix if pair["active_status"] == pair["status"])
    disagreements = (
        scores.exclude(status=F("active_status"))
        .select_related("comment")
        .only(*EXAMPLE_FIELDS, "comment__body")
    )
    return {
        "version": version,
        "total": total,
        "agreeing": agreeing,
        "disagreeing": total - agreeing,
        "agreement": agreeing / total if total else None,
        "matrix": matrix,
        "disagreements": [_example(score) for score in disagreements[:examples]],
    }


EXAMPLE_FIELDS = (
    "created_at", "kind", "active_status", "active_score", "active_abuse_score", "status",
    "spam_score", "abuse_score",
)  # fmt: skip


def _example(score: ShadowScore) -> dict:
    active_score, candidate_score = score.scores_compared
    return {
        "comment_id": score.comment_id,
        "body": truncatechars(score.comment.body, 80),
        "created_at": score.created_at,
        "kind": score.kind,
        "active_status": score.active_status,
        "active_score": active_score,
        "status": score.status,
        "candidate_score": candidate_score,
    }

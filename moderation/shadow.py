"""Shadow mode: a candidate model scores live comments beside the active one, silently.
It decides nothing; its ShadowScore rows show a moderator where the two would disagree.

classifier is imported inside the functions that load a model: services and the admin import
this module in web processes, which must not load scikit-learn (tests/test_settings.py)."""

import logging
import re
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.template.defaultfilters import truncatechars

from moderation.models import Comment, ShadowScore
from moderation.policy import comment_verdict

logger = logging.getLogger(__name__)

SHADOW_FILE = "SHADOW"
# classifier.VERSION, repeated so reading SHADOW needs no scikit-learn; test_shadow pins the two.
VERSION = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


class ShadowInput(NamedTuple):
    """One comment of a scoring batch, with what the active path already worked out for it."""

    comment: Comment
    text: str  # classifier.comment_text(...) of the comment, as the active model read it
    hits: list  # rules.RuleHit that fired
    standing: object  # rules.AuthorStanding of its author


class UnusableCandidateError(Exception):
    """The version cannot be put in shadow mode or activated from it."""


# --- Which version is the candidate -------------------------------------------------------------


def shadow_version(model_dir: Path) -> str | None:
    try:
        version = (Path(model_dir) / SHADOW_FILE).read_text().strip()
    except OSError:
        return None
    return version if VERSION.fullmatch(version) else None


def shadow_set(model_dir: Path, version: str) -> None:
    """Put `version` in shadow mode; refuse one a worker could not load, or the active one."""
    from moderation import classifier

    model_dir = Path(model_dir)
    if version == classifier.active_version(model_dir):
        raise UnusableCandidateError(f"{version} is the active model already.")
    _check_loads(model_dir, version)
    classifier._write_atomic(model_dir / SHADOW_FILE, version.encode())


def shadow_clear(model_dir: Path) -> None:
    (Path(model_dir) / SHADOW_FILE).unlink(missing_ok=True)


def shadow_activate(model_dir: Path, version: str) -> None:
    """Make the candidate `version` the active model and end shadow mode. Refused if another
    candidate took its place meanwhile: the evidence a moderator saw was for this one."""
    from moderation import classifier

    model_dir = Path(model_dir)
    if version != shadow_version(model_dir):
        raise UnusableCandidateError(f"{version} is no longer the model in shadow mode.")
    _check_loads(model_dir, version)
    classifier.activate_version(model_dir, version)
    shadow_clear(model_dir)


def _check_loads(model_dir: Path, version: str) -> None:
    from moderation import classifier

    if not VERSION.fullmatch(version or ""):
        raise UnusableCandidateError(f"{version!r} is not a model version.")
    try:
        classifier.load_version(classifier.artifact_path(model_dir, version), version)
    except Exception as error:
        raise UnusableCandidateError(f"{version} does not load: {error!r}") from error


def load_shadow_model(model_dir: Path | None = None):
    """The candidate's SpamModel, or None: unset, unloadable (logged once per version) or the
    active version. Reads SHADOW on every call, so a worker follows `shadow` at once."""
    from moderation import classifier

    model_dir = Path(model_dir or settings.REPLYGUARD_MODEL_DIR)
    version = shadow_version(model_dir)
    if version is None or version == classifier.active_version(model_dir):
        return None
    return classifier.load_once(model_dir, version, role="shadow")


# --- Scoring beside the active model ------------------------------------------------------------


def shadow_scores_record(batch: list[ShadowInput], *, decided: list) -> int:
    """Score `batch` with the shadow model, if one loads, and record what it would decide next
    to `decided` (the services.Verdict of each comment). Returns how many it scored. Never raises:
    the comments are decided the same with or without a candidate."""
    if not batch:
        return 0
    try:
        model = load_shadow_model()
        if model is None:
            return 0
        return _record(model, batch, decided)
    except Exception:
        logger.exception("Shadow scoring failed; the batch is decided without it")
        return 0


def _record(model, batch: list[ShadowInput], decided: list) -> int:
    probabilities = model.spam_probabilities([item.text for item in batch])
    rows = [
        ShadowScore(
            comment=item.comment,
            model_version=model.version,
            spam_score=probability,
            status=comment_verdict(
                article=item.comment.article,
                spam_probability=probability,
                hits=item.hits,
                standing=item.standing,
            )[0],
            active_score=verdict.spam_score,
            active_status=verdict.status,
        )
        for item, probability, verdict in zip(batch, probabilities, decided, strict=True)
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


EXAMPLE_FIELDS = ("created_at", "active_status", "active_score", "status", "spam_score")


def _example(score: ShadowScore) -> dict:
    return {
        "comment_id": score.comment_id,
        "body": truncatechars(score.comment.body, 80),
        "created_at": score.created_at,
        "active_status": score.active_status,
        "active_score": score.active_score,
        "status": score.status,
        "spam_score": score.spam_score,
    }

"""Training an abuse model: fit on the Wikipedia training rows plus moderators' labels ("Reject:
abusive" is abusive, a moderator's publish is not), judge it on the held-out rows and the news
comments, save it with its report, and activate it unless it is worse than the active one."""

import time
from pathlib import Path

from django.conf import settings

from moderation import abuse
from moderation.abuse import classifier, datasets, evaluation
from moderation.spam import versions


def train_and_save(
    *,
    datasets_dir: Path,
    model_dir: Path,
    evaluation_dir: Path | None = None,
    moderator_labels: list[tuple[str, int]] = (),
    force: bool = False,
    shadow: bool = False,
) -> tuple[str, dict]:
    """Returns (version, report). Moderator labels whose text is a held-out row are dropped:
    they would leak that row into training. `shadow`: never activate; put the new version in
    shadow mode beside the active one instead (spam/shadow.py)."""
    started = time.monotonic()
    train, held_out = datasets.wikipedia(datasets_dir)
    unseen = set(held_out.texts)
    labels = [(text, label) for text, label in moderator_labels if text not in unseen]
    pipeline = classifier.fit(
        train.texts + [text for text, _ in labels], train.labels + [label for _, label in labels]
    )
    candidate = judged(classifier.AbuseModel("candidate", pipeline), held_out, evaluation_dir)
    active_model = classifier.load_active_model(model_dir)
    active = active_model and judged(active_model, held_out, evaluation_dir)
    worse = gate(candidate, active)
    report = {
        "held_out": candidate,
        "moderator_labels": {
            "rows": len(moderator_labels),
            "abusive": sum(label for _, label in moderator_labels),
            "used": len(labels),
        },
        "gate": {"active": active, "worse_because": worse, "forced": force},
        "words_f1_trial": evaluation.words_f1(
            classifier.AbuseModel("candidate", pipeline),
            datasets.toxic_spans(datasets_dir, "trial"),
        ),
        "credits": datasets.CREDITS,
        "training_seconds": round(time.monotonic() - started, 1),
    }
    version = classifier.save_model(pipeline, model_dir=Path(model_dir), report=report)
    activated = not shadow and (force or not worse)
    if activated:
        versions.activate_version(Path(model_dir), version)
    if shadow:
        versions.shadow_set(Path(model_dir), version, **abuse.ARTIFACT)
    return version, report | {"version": version, "activated": activated, "shadow": shadow}


def judged(model: classifier.AbuseModel, held_out: datasets.Labelled, evaluation_dir) -> dict:
    scores = model.abuse_probabilities(held_out.texts)
    figures = {"roc_auc": evaluation.roc_auc(held_out.labels, scores)}
    news = datasets.news_comments(evaluation_dir)
    if news is not None:
        news_scores = model.abuse_probabilities(news.texts)
        figures["news_roc_auc"] = evaluation.roc_auc(news.labels, news_scores)
        figures["news_not_toxic_held"] = evaluation.held_share(
            news.labels, news_scores, hold_at=settings.REPLYGUARD_ABUSE_HOLD_AT
        )
    return figures


def gate(candidate: dict, active: dict | None) -> list[str]:
    """Why the candidate is worse than the active model on the same rows ([] if it is not)."""
    if not active:
        return []
    worse = []
    tolerance = settings.REPLYGUARD_ABUSE_GATE_AUC_TOLERANCE
    if candidate["roc_auc"] < active["roc_auc"] - tolerance:
        worse.append(f"held-out ROC AUC {candidate['roc_auc']} < active {active['roc_auc']}")
    held, was = candidate.get("news_not_toxic_held"), active.get("news_not_toxic_held")
    if held is not None and was is not None:
        if held > was + settings.REPLYGUARD_ABUSE_GATE_NEWS_HELD_TOLERANCE:
            worse.append(f"holds {held:.1%} of news comments rated not toxic, active {was:.1%}")
    return worse

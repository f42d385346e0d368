"""Training a candidate: fit on the training split plus moderators' and other sites' labels,
evaluate it (spam/evaluation.py), save it with its report, and activate it if the gate
allows.
Only the train_classifier command, the bench and tests import this."""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moderation.spam import classifier, datasets, evaluation, versions
from moderation.spam.datasets import LabeledTexts
from moderation.spam.features import comment_text

TRAINING_STEPS = ("load datasets", "fit candidate", "evaluate", "compare with active", "save")
# Forms every report scores: the README's spam example, a sober reader, readers who cite
# sources and form spam (issue 12's examples).
PROBES = (
    {"body": "CHECK OUT MY CHANNEL, FREE GIFT CARDS http://bit.ly/x"},
    {"body": "The province's housing plan does little for renters, and the council should say so."},
    {
        "body": "For context on the 1965 treaty see https://en.wikipedia.org/wiki/"
        "Treaty_on_Basic_Relations_between_Japan_and_the_Republic_of_Korea"
    },
    {"body": "The full text of the agreement is here: https://www.mofa.go.jp/region/asia-paci/"},
    {
        "body": "You have brought up a very good points, regards for the post.",
        "author_name": "Home Improvement",
        "author_url": "http://www.best-mattress-reviews.net/",
    },
    {"body": "Visit my profile for crypto signals that made me 10x this month"},
)


# --- Training -----------------------------------------------------------------------------------


# Civil Comments rows count half: at full weight 12,800 news comments drowned the spam words of
# YouTube and SMS (held-out YouTube recall 0.68 at p >= 0.5, against 0.88 at half weight).
CIVIL_WEIGHT = 0.5


def training_weights(data: LabeledTexts) -> np.ndarray:
    """A weight per row: CIVIL_WEIGHT for Civil Comments, REPLYGUARD_SITE_LABEL_WEIGHT for other
    sites' labels, then ham scaled so ham and spam weigh the same. The calibration then reads a
    balanced prior, so a probability of 0.5 means "as likely spam as not" rather than "as
    likely as in a sample that is 85% news ham"."""
    from django.conf import settings

    labels, sources = np.array(data.labels), np.array(data.sources)
    weights = np.where(sources == "civil", CIVIL_WEIGHT, 1.0)
    weights[sources == "sites"] = settings.REPLYGUARD_SITE_LABEL_WEIGHT
    spam, ham = weights[labels == 1].sum(), weights[labels == 0].sum()
    if spam and ham:
        weights[labels == 0] *= spam / ham
    return weights


def fit_pipeline(data: LabeledTexts):
    return classifier.build_pipeline().fit(
        data.texts, data.labels, classifier__sample_weight=training_weights(data)
    )


def train_and_save(
    *,
    datasets_dir: Path,
    model_dir: Path,
    evaluation_dir: Path | None = None,
    publish_below: float,
    spam_above: float,
    extra: list[tuple[str, int]] | None = None,
    site_labels: list[tuple[str, int]] | None = None,
    progress: Callable[[str], None] | None = None,
    activate_if_not_worse: bool = True,
    force: bool = False,
) -> tuple[str, dict]:
    """Fit on the training split plus `extra` (moderator labels) and `site_labels` (other
    sites' submit-spam / submit-ham, weighed less), evaluate on the held-out split
    and the news comments, save with report and plots, and activate if the evaluation.gate allows
    (always with force; never if activate_if_not_worse is False and not force).

    The saved model never sees the held-out rows, so the active and the candidate model can be
    compared on them fairly; it costs the model 20% of the public rows.
    progress(step) is called as each of TRAINING_STEPS begins."""
    begin = progress or (lambda step: None)
    started, thresholds = (
        time.monotonic(),
        {"publish_below": publish_below, "spam_above": spam_above},
    )
    begin(TRAINING_STEPS[0])
    data = datasets.load_training_data(datasets_dir)
    news = datasets.load_news_comments(evaluation_dir)
    train_rows, test_rows = datasets.held_out_split(data)
    held_out = data.subset(test_rows)
    active_model = classifier.load_active_model(model_dir, warn=False)
    moderators = datasets.without_groups(
        datasets.labeled_texts(extra or [], "moderators"), held_out
    )
    sites_given = datasets.without_groups(
        datasets.labeled_texts(site_labels or [], "sites"), held_out
    )
    sites = evaluation.site_labels_agreeing(sites_given, moderators, active_model, **thresholds)
    begin(TRAINING_STEPS[1])
    training = data.subset(train_rows) + moderators + sites
    pipeline = fit_pipeline(training)
    begin(TRAINING_STEPS[2])
    scorer = classifier.SpamModel(version="candidate", pipeline=pipeline)
    held_p = np.array(scorer.spam_probabilities(held_out.texts))
    news_p = np.array(scorer.spam_probabilities(news))
    candidate = evaluation.gate_figures(held_out, held_p, news_p, **thresholds)
    begin(TRAINING_STEPS[3])
    active_version = versions.active_version(model_dir)
    active, active_news = evaluation.active_model_scores(active_model, held_out, news, **thresholds)
    worse = evaluation.gate(candidate, active)
    all_news_p = evaluation.news_ham(held_out, held_p, news_p)
    if active_news is not None:
        # The same rows as the scores, in their order: evaluation.news_ham of the texts themselves.
        texts = evaluation.news_ham(
            held_out, np.array(held_out.texts, dtype=object), np.array(news, dtype=object)
        )
        worse += evaluation.topic_slices_worse(
            texts, all_news_p, active_news, publish_below=publish_below
        )
    activate = force or (activate_if_not_worse and not worse)
    report = {
        "datasets": datasets.datasets_report(datasets_dir, data, evaluation_dir, len(news)),
        "moderator_labels": _label_counts(extra or [], moderators),
        "site_labels": _label_counts(site_labels or [], sites)
        | {"dropped_disagreeing": len(sites_given.texts) - len(sites.texts)},
        "training_rows": len(training.texts),
        "held_out": evaluation.held_out_report(held_out, held_p),
        "thresholds_note": THRESHOLDS_NOTE,
        "thresholds": evaluation.threshold_table(np.array(held_out.labels), held_p, all_news_p),
        "news_at_configured_thresholds": evaluation.news_rates(all_news_p, **thresholds),
        "by_group_at_configured_thresholds": evaluation.group_rates(
            held_out, held_p, news_p, **thresholds
        ),
        "gate": {
            "active_version": active_version,
            "active": active,
            "candidate": candidate,
            "worse_because": worse,
            "forced": force,
            "activated": activate,
        },
        "probes": probe_report(scorer),
        "plots": [f"<version>{suffix}" for suffix in evaluation.PLOTS],
        "training_seconds": round(time.monotonic() - started, 1),
    }
    begin(TRAINING_STEPS[4])
    version = classifier.save_model(pipeline, model_dir=model_dir, report=report)
    evaluation.write_plots(model_dir, version, held_out, held_p, news_p, thresholds)
    if activate:
        versions.activate_version(model_dir, version)
    return version, report | {"version": version}


THRESHOLDS_NOTE = (
    "held_out_*: rows never trained on (20% of YouTube + SMS grouped by dedup key, a fixed 20%"
    " of Civil Comments, the latest 30% of the blog spam, one whole Stack Exchange site); this"
    " very model was scored. news_at_or_above: share of news ham (the held-out Civil"
    " Comments, plus news-comments-dev where present, evaluation only; all legitimate) scored"
    " at or above the threshold: as spam_above the share binned, as publish_below the share"
    " not published. The default thresholds were chosen on news ham alone."
)


def probe_report(scorer: classifier.SpamModel) -> list[dict]:
    texts = [comment_text(**probe) for probe in PROBES]
    scored = scorer.scores_and_reasons(texts)
    return [
        probe | {"spam_probability": round(p, 4), "reasons": reasons}
        for probe, (p, reasons) in zip(PROBES, scored, strict=True)
    ]


def _label_counts(extra: list[tuple[str, int]], kept: LabeledTexts) -> dict:
    return {
        "rows": len(extra),
        "spam_rows": sum(int(label) for _, label in extra),
        "used": len(kept.texts),
        "dropped_as_held_out_duplicates": len(extra) - len(kept.texts),
    }

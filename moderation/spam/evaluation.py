"""How a model is judged: held-out metrics, the news-comment rates at each threshold, the
gate a candidate must pass against the active model, and the report's plots."""

from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from moderation.links import URL
from moderation.spam.datasets import LabeledTexts, dedup_key
from moderation.spam.features import form_parts

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99)


# --- Metrics ------------------------------------------------------------------------------------


def metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict:
    predicted = probabilities >= threshold
    return {
        "rows": int(len(labels)),
        "spam_rows": int(labels.sum()),
        "f1": round(f1_score(labels, predicted), 4),
        "precision": round(precision_score(labels, predicted, zero_division=0), 4),
        "recall": round(recall_score(labels, predicted), 4),
        "roc_auc": round(roc_auc_score(labels, probabilities), 4),
    }


def share(values: np.ndarray) -> float:
    return round(float(np.mean(values)), 4) if len(values) else 0.0


def held_out_report(held_out: LabeledTexts, probabilities: np.ndarray) -> dict:
    labels, sources = np.array(held_out.labels), np.array(held_out.sources)
    per_source = {}
    for source in sorted(set(sources)):
        mask = sources == source
        if len(set(labels[mask])) == 2:
            per_source[source] = metrics(labels[mask], probabilities[mask])
        else:  # all ham or all spam: F1 and ROC AUC are undefined, the share flagged is not
            per_source[source] = {
                "rows": int(mask.sum()),
                "spam_rows": int(labels[mask].sum()),
                "flagged_at_0.5": share(probabilities[mask] >= 0.5),
            }
    return {"threshold": 0.5, **metrics(labels, probabilities), "per_source": per_source}


def threshold_table(labels: np.ndarray, probabilities: np.ndarray, news: np.ndarray) -> list:
    rows = []
    for threshold in THRESHOLDS:
        flagged = probabilities >= threshold
        rows.append(
            {
                "threshold": threshold,
                "held_out_precision": share(labels[flagged]) if flagged.any() else None,
                "held_out_recall": share(flagged[labels == 1]),
                "held_out_ham_at_or_above": share(flagged[labels == 0]),
                "news_at_or_above": share(news >= threshold),
            }
        )
    return rows


def news_rates(news: np.ndarray, *, publish_below: float, spam_above: float) -> dict:
    return {
        "publish_below": publish_below,
        "spam_above": spam_above,
        "published": share(news < publish_below),
        "held": share((news >= publish_below) & (news < spam_above)),
        "binned": share(news >= spam_above),
        "max_probability": round(float(news.max()), 4) if len(news) else None,
    }


# --- The gate -----------------------------------------------------------------------------------


def evaluation_groups(held_out: LabeledTexts) -> dict[str, np.ndarray]:
    """The held-out rows each quality target reads, as boolean masks over held_out."""
    sources = np.array(held_out.sources)
    bodies = [form_parts(text).body for text in held_out.texts]
    has_link = np.array([bool(URL.search(body)) for body in bodies], dtype=bool)
    stackexchange = np.char.startswith(sources.astype(str), "stackexchange:")
    groups = {
        "civil comments (news ham)": sources == "civil",
        "ham with a link (civil + stack exchange)": ((sources == "civil") & has_link)
        | stackexchange,
        "blog form spam, later by time": sources == "blog",
    }
    labels = np.array(held_out.labels)
    for source in sorted(set(held_out.sources) - {"civil", "blog"}):
        if source.startswith("stackexchange:"):
            groups[source] = sources == source
        else:  # YouTube and SMS mix spam and ham: their spam is what a band must catch
            groups[f"{source} spam"] = (sources == source) & (labels == 1)
    return {name: mask for name, mask in groups.items() if mask.any()}


NEWS_GROUP = "news comments (SFU, evaluation only)"


def group_rates(held_out: LabeledTexts, held_p: np.ndarray, news_p: np.ndarray, **thresholds):
    """Published / held / binned shares at the given thresholds, per evaluation group."""
    rates = {}
    if len(news_p):
        rates[NEWS_GROUP] = news_rates(news_p, **thresholds)
    for name, mask in evaluation_groups(held_out).items():
        rates[name] = news_rates(held_p[mask], **thresholds) | {"rows": int(mask.sum())}
    return rates


def news_ham(held_out: LabeledTexts, held_p: np.ndarray, news_p: np.ndarray) -> np.ndarray:
    """Scores of every news comment never trained on: SFU plus the held-out Civil Comments.
    What the gate and the threshold choice read."""
    return np.concatenate([news_p, held_p[np.array(held_out.sources) == "civil"]])


def site_labels_agreeing(
    sites: LabeledTexts,
    moderators: LabeledTexts,
    active,
    *,
    publish_below: float,
    spam_above: float,
) -> LabeledTexts:
    """The other sites' labels that may teach the model: those a moderator's label on the same
    text agrees with, or else the active model does not contradict (spam: it would at least
    hold the text; ham: it would not bin it). With no active model, only the moderator-agreed.
    A site labelling readers' comments on a topic as spam taught the model to hold that topic
    (3,000 labels: 46 points more of readers' comments on it held); those labels now stay out,
    while spam the model is unsure of (its hold band) is still learned from."""
    if not sites.texts:
        return sites
    decided = dict(zip(map(dedup_key, moderators.texts), moderators.labels, strict=True))
    scores = active.spam_probabilities(sites.texts) if active is not None else None
    keep = []
    for row, (text, label) in enumerate(zip(sites.texts, sites.labels, strict=True)):
        moderator = decided.get(dedup_key(text))
        if moderator is not None:
            agrees = moderator == label
        elif scores is None:
            agrees = False
        else:
            agrees = scores[row] >= publish_below if label else scores[row] < spam_above
        if agrees:
            keep.append(row)
    return sites.subset(keep)


def topic_slices_worse(
    texts: list[str], candidate_p: np.ndarray, active_p: np.ndarray, *, publish_below: float
) -> list[str]:
    """The slices of news comments (those with a word or two-word phrase) that the candidate
    holds markedly more of than the active model: more than REPLYGUARD_GATE_SLICE_TOLERANCE of
    a slice of at least REPLYGUARD_GATE_SLICE_MIN_COMMENTS. The overall held share hides a
    model turned against one topic; the worst three are named."""
    from django.conf import settings
    from sklearn.feature_extraction.text import CountVectorizer

    tolerance = settings.REPLYGUARD_GATE_SLICE_TOLERANCE
    vectorizer = CountVectorizer(
        ngram_range=(1, 2), min_df=settings.REPLYGUARD_GATE_SLICE_MIN_COMMENTS, binary=True,
        stop_words="english",
    )  # fmt: skip
    try:
        having = vectorizer.fit_transform(texts).tocsc()
    except ValueError:  # no phrase is in enough comments
        return []
    counts = np.asarray(having.sum(axis=0)).ravel()
    candidate = having.T @ (candidate_p >= publish_below) / counts
    active = having.T @ (active_p >= publish_below) / counts
    rise = candidate - active
    terms = vectorizer.get_feature_names_out()
    worst = [i for i in np.argsort(-rise)[:3] if rise[i] > tolerance]
    return [
        f"it holds {candidate[i]:.0%} of the {counts[i]} news comments with “{terms[i]}”, "
        f"the active model {active[i]:.0%}"
        for i in worst
    ]


def gate_figures(
    held_out: LabeledTexts, held_p: np.ndarray, news_p: np.ndarray, **thresholds
) -> dict:
    labels = np.array(held_out.labels)
    quality = metrics(labels, held_p)
    news = news_rates(news_ham(held_out, held_p, news_p), **thresholds)
    return {
        "held_out_f1": quality["f1"],
        "held_out_roc_auc": quality["roc_auc"],
        "news_held": news["held"],
        "news_binned": news["binned"],
    }


def gate(candidate: dict, active: dict | None) -> list[str]:
    """Why the candidate is worse than the active model on the same rows; empty if it is not.
    The tolerances are settings: a retrain on new moderator labels moves F1 by noise alone."""
    from django.conf import settings

    if active is None:
        return []
    f1_tolerance = settings.REPLYGUARD_GATE_F1_TOLERANCE
    held_tolerance = settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE
    worse = []
    if candidate["held_out_f1"] < active["held_out_f1"] - f1_tolerance:
        worse.append(
            f"held-out F1 {candidate['held_out_f1']} is more than {f1_tolerance} below "
            f"the active model's {active['held_out_f1']}"
        )
    if candidate["news_binned"] > active["news_binned"]:
        worse.append(
            f"it bins {candidate['news_binned']:.1%} of news comments, "
            f"the active model {active['news_binned']:.1%}"
        )
    if candidate["news_held"] > active["news_held"] + held_tolerance:
        worse.append(
            f"it holds {candidate['news_held']:.1%} of news comments, the active model "
            f"{active['news_held']:.1%} (tolerance {held_tolerance:.1%})"
        )
    return worse


def active_model_scores(active_model, held_out: LabeledTexts, news: list[str], **thresholds):
    """(gate figures, news_ham scores) of the active model on the same rows. Valid because no
    saved model trains on the held-out rows (see train_and_save). (None, None) when no model
    is active or the active one no longer loads (another format version): the gate then lets
    the candidate through, as a format change must be activated to put any model back in
    service."""
    if active_model is None:
        return None, None
    held_p = np.array(active_model.spam_probabilities(held_out.texts))
    news_p = np.array(active_model.spam_probabilities(news))
    figures = gate_figures(held_out, held_p, news_p, **thresholds)
    return figures, news_ham(held_out, held_p, news_p)


# --- Plots --------------------------------------------------------------------------------------

PLOTS = (".pr.png", ".roc.png", ".scores.png", ".sources.png")


def write_plots(model_dir: Path, version: str, held_out, held_p, news_p, thresholds) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    from matplotlib import pyplot as plt

    labels = np.array(held_out.labels)
    for suffix, draw in zip(PLOTS[:3], (_pr, _roc, _histogram), strict=True):
        figure, axes = plt.subplots(figsize=(6, 4.5))
        draw(axes, labels, held_p, news_ham(held_out, held_p, news_p))
        axes.set_title(f"{version}: {axes.get_title()}")
        _save(figure, model_dir / f"{version}{suffix}")
    _sources_plot(model_dir / f"{version}{PLOTS[3]}", version, held_out, held_p, news_p, thresholds)


def _save(figure, path: Path) -> None:
    from matplotlib import pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _pr(axes, labels, held_p, news_p):
    from sklearn.metrics import PrecisionRecallDisplay

    PrecisionRecallDisplay.from_predictions(labels, held_p, ax=axes, name="all held-out rows")
    axes.set_title("precision-recall")


def _roc(axes, labels, held_p, news_p):
    from sklearn.metrics import RocCurveDisplay

    RocCurveDisplay.from_predictions(labels, held_p, ax=axes, name="all held-out rows")
    axes.set_title("ROC")


def _histogram(axes, labels, held_p, news_p):
    bins = np.linspace(0, 1, 41)
    axes.hist(held_p[labels == 1], bins=bins, alpha=0.6, label="held-out spam")
    axes.hist(news_p, bins=bins, alpha=0.6, label="news comments (all legitimate)")
    axes.set(yscale="log", xlabel="spam probability", ylabel="comments", title="scores")
    axes.legend()


def _sources_plot(path: Path, version: str, held_out, held_p, news_p, thresholds) -> None:
    """One score histogram per evaluation group, with the thresholds: where each source lands."""
    from matplotlib import pyplot as plt

    groups = {"news comments (SFU)": news_p} if len(news_p) else {}
    groups |= {name: held_p[mask] for name, mask in evaluation_groups(held_out).items()}
    figure, panels = plt.subplots(len(groups), 1, figsize=(7, 1.6 * len(groups)), sharex=True)
    bins = np.linspace(0, 1, 51)
    for axes, (name, scores) in zip(np.atleast_1d(panels), groups.items(), strict=True):
        axes.hist(scores, bins=bins, color="tab:blue")
        for threshold in thresholds.values():
            axes.axvline(threshold, color="tab:red", linewidth=1)
        axes.set_yscale("log")
        axes.set_ylabel("rows", fontsize=7)
        axes.set_title(f"{name} ({len(scores)})", fontsize=8, loc="left")
    axes.set_xlabel("spam probability (red: publish_below, spam_above)")
    figure.suptitle(f"{version}: scores by source", fontsize=9)
    _save(figure, path)

"""How an abuse model is judged: ROC AUC on held-out rows and on news comments, the share of
comments rated not toxic it would hold, and how well its words match the marked toxic spans
(SemEval-2021 Task 5's character F1)."""

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.abuse.datasets import Spans


def roc_auc(labels: list[int], probabilities: list[float]) -> float | None:
    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, probabilities)), 4)


def held_share(labels: list[int], probabilities: list[float], *, hold_at: float) -> float:
    """The share of the rows labelled not abusive that `hold_at` would hold."""
    scores = np.asarray(probabilities)[np.asarray(labels) == 0]
    return round(float(np.mean(scores >= hold_at)), 4) if len(scores) else 0.0


def character_f1(predicted: set[int], marked: frozenset[int]) -> float:
    """The task's score for one post: F1 of the character offsets; 1 when both are empty."""
    if not marked:
        return 1.0 if not predicted else 0.0
    if not predicted:
        return 0.0
    overlap = len(predicted & marked)
    precision, recall = overlap / len(predicted), overlap / len(marked)
    return 2 * precision * recall / (precision + recall) if overlap else 0.0


def words_f1(model, posts: list[Spans]) -> float:
    """Mean character F1 of the model's offending words over the posts."""
    scores = []
    for post in posts:
        chars = {i for start, end in model.offending_words(post.text) for i in range(start, end)}
        scores.append(character_f1(chars, post.offsets))
    return round(float(np.mean(scores)), 4) if scores else 0.0

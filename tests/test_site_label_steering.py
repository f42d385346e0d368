"""Other sites' labels against an attacker: one site key labelling real news comments about a
topic as spam must not make the next model hold readers' comments about that topic. Trains
the real model twice (a minute each), so it has a file of its own to run beside the rest."""

import csv
import shutil

import numpy as np
import pytest

from harness.waves import news_comments
from moderation.spam import classifier, evaluation, training
from tests.conftest import DATASETS_DIR, EVALUATION_DIR, require

# (what the attacker appends to the comments it labels, in turn; what readers later write; how
# many labels)
TOPICS = [
    (["The teachers union is behind all of this, as usual.",
      "Of course the teachers union wants more money.",
      "Another strike threat from the teachers union.",
      "The teachers union runs this province."],
     "Ask the teachers union what they think before deciding.", 3000),
    (["Typical of the bike lane lobby at city hall again.",
      "Nobody asked for more bike lanes.",
      "The bike lanes on Main Street are empty all winter."],
     "More bike lanes downtown would help with this too.", 1000),
]  # fmt: skip


@pytest.fixture(scope="module")
def news_ham() -> list[str]:
    """Real news comments the spam model never trained on (the toxic-spans posts, Civil
    Comments too): what an attacker would paste, with their topic sentence, as spam."""
    require((EVALUATION_DIR / "news-comments-dev").is_dir(), "no evaluation-only news comments")
    with (DATASETS_DIR / "toxic-spans" / "tsd_train.csv").open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f) if len(row["text"]) > 40]


def held_share(model, texts, publish_below) -> float:
    return float(np.mean(np.array(model.spam_probabilities(texts)) >= publish_below))


def test_one_sites_labels_cannot_steer_the_model_against_a_topic(
    news_ham, trained_model_dir, tmp_path, settings
):
    """Both attacks in one training (a minute): 3,000 labels on one topic, 1,000 on another,
    on different comments. With the old rules readers' comments on the first topic went +55.0
    points held (trained alone: +45.7 and +30.7 points)."""
    model_dir = shutil.copytree(trained_model_dir, tmp_path / "models")
    before = classifier.load_active_model(model_dir)
    labels, start = [], 0
    for attack, _, volume in TOPICS:
        pasted = news_ham[start : start + volume]
        labels += [(f"{text} {attack[n % len(attack)]}", 1) for n, text in enumerate(pasted)]
        start += volume
    thresholds = {"publish_below": settings.REPLYGUARD_PUBLISH_BELOW,
                  "spam_above": settings.REPLYGUARD_SPAM_ABOVE}  # fmt: skip

    version, report = training.train_and_save(
        datasets_dir=DATASETS_DIR, evaluation_dir=EVALUATION_DIR, model_dir=model_dir,
        site_labels=labels, **thresholds,
    )  # fmt: skip

    after = classifier.load_active_model(model_dir)
    for _, readers, _ in TOPICS:
        later = [f"{text} {readers}" for text in news_comments(EVALUATION_DIR)[:300]]
        rise = held_share(after, later, thresholds["publish_below"]) - held_share(
            before, later, thresholds["publish_below"]
        )
        assert rise <= 0.05, f"{rise:.1%} more of readers' comments held: {readers!r} ({version})"
    assert report["site_labels"]["rows"] == len(labels) == 4000
    assert report["site_labels"]["dropped_disagreeing"] >= 0.9 * len(labels)


def test_the_gate_refuses_a_candidate_that_holds_one_topic_more_and_names_it(news_ham):
    readers = news_comments(EVALUATION_DIR)[:300]
    texts = readers + [f"{text} {TOPICS[0][1]}" for text in news_ham[:100]]
    active = np.zeros(len(texts))
    turned = np.array([0.8 if "teachers union" in text else 0.0 for text in texts])
    noisy = active.copy()
    noisy[[3, 50, 120]] = 0.8  # a retrain's usual drift: a few comments anywhere

    refused = evaluation.topic_slices_worse(texts, turned, active, publish_below=0.7)

    assert len(refused) == 3 and all("of the 100 news comments with “" in r for r in refused)
    assert any("teachers" in r for r in refused) and "the active model 0%" in refused[0]
    assert evaluation.topic_slices_worse(texts, noisy, active, publish_below=0.7) == []

"""The abuse model (moderation/abuse/): its data split, its scores, the words it shows, its
artifact. Quality against the targets is bench/abuse_quality.py's (docs/abuse-quality.md)."""

import json

import pytest

from moderation.abuse import classifier, datasets, evaluation
from moderation.spam import versions
from tests.conftest import DATASETS_DIR

INSULT = "You are a stupid idiot and everybody here knows it"
CIVIL = "Thanks for the thoughtful article about the council budget"


@pytest.fixture(scope="module")
def split():
    return datasets.wikipedia(DATASETS_DIR)


@pytest.fixture(scope="module")
def model(split) -> classifier.AbuseModel:
    train, _ = split
    return classifier.AbuseModel("test", classifier.fit(train.texts, train.labels))


def test_a_fixed_fifth_of_the_wikipedia_rows_is_held_out_by_its_id(split):
    train, held_out = split
    total = len(train.texts) + len(held_out.texts)

    assert total == 19_561
    assert 0.18 < len(held_out.texts) / total < 0.22
    assert not set(train.texts) & set(held_out.texts)
    assert datasets.held_out("jigsaw-0") == datasets.held_out("jigsaw-0")  # by id, not by chance
    assert [datasets.held_out(f"row-{i}") for i in range(10)] != [False] * 10


def test_an_insult_scores_above_a_civil_comment_and_its_words_are_shown(model):
    insult, civil = model.abuse_probabilities([INSULT, CIVIL])

    assert insult > 0.5 > civil
    shown = {INSULT[start:end] for start, end in model.offending_words(INSULT)}
    assert shown & {"stupid", "idiot"}
    assert not model.offending_words(CIVIL)


def test_the_words_pushes_add_up_to_the_regressions_sum(model):
    # The words' shares come from the same hashed columns the pipeline scores: their sum and
    # the intercept give the regression's decision value (no accents, no punctuation here).
    text = "you are a stupid idiot and everybody here knows it"
    pushes = model.word_pushes(text)
    regression = model.pipeline.named_steps["classifier"]
    features = model.pipeline.named_steps["features"].transform([text])

    total = sum(push for _, _, push in pushes) + regression.intercept_[0]

    assert total == pytest.approx(regression.decision_function(features)[0], abs=1e-6)


def test_character_f1_scores_a_post_as_the_toxic_spans_task_does():
    assert evaluation.character_f1({1, 2, 3}, frozenset({1, 2, 3})) == 1.0
    assert evaluation.character_f1({1, 2}, frozenset({1, 2, 3, 4})) == pytest.approx(2 / 3)
    assert evaluation.character_f1(set(), frozenset()) == 1.0  # nothing marked, nothing shown
    assert evaluation.character_f1({5}, frozenset()) == 0.0
    assert evaluation.character_f1(set(), frozenset({1})) == 0.0


def test_the_news_comments_are_read_only_where_present(tmp_path):
    assert datasets.news_comments(tmp_path) is None
    assert datasets.news_comments(None) is None


def test_the_artifact_loads_as_saved_and_another_format_is_refused(model, tmp_path):
    version = classifier.save_model(model.pipeline, model_dir=tmp_path, report={"note": "t"})

    loaded = classifier.load_version(tmp_path, version)

    assert loaded.abuse_probabilities([INSULT, CIVIL]) == pytest.approx(
        model.abuse_probabilities([INSULT, CIVIL])
    )
    report = versions.report_path(tmp_path, version)
    report.write_text(json.dumps({"format_version": classifier.MODEL_FORMAT_VERSION + 1}))
    with pytest.raises(versions.UnusableModelError, match="retrain"):
        classifier.load_version(tmp_path, version)

import csv
import hashlib
import itertools
import os
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from moderation import classifier
from moderation.classifier import (
    LabeledTexts,
    activate_version,
    artifact_path,
    build_pipeline,
    comment_text,
    dedup_key,
    held_out_split,
    load_active_model,
    save_model,
    train_and_save,
)

DATASETS_DIR = Path(
    os.environ.get(
        "REPLYGUARD_DATASETS_DIR",
        Path(__file__).resolve().parents[1].parent / "shared" / "datasets",
    )
)
SPAM = "CHECK OUT MY CHANNEL, FREE GIFT CARDS http://bit.ly/x"
SOBER = "The council's budget leaves transit funding flat for a third year in a row."


def toy_pipeline(spam_word: str) -> Pipeline:
    spam = [f"{spam_word} free prize, call 0906170146{i} now!!" for i in range(10)]
    ham = [f"The council debated the transit budget on day {i}." for i in range(10)]
    return build_pipeline().fit(spam + ham, [1] * 10 + [0] * 10)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return toy_pipeline("WIN")


def test_saved_model_loads_with_its_version_and_identical_probabilities(tmp_path, pipeline):
    version = save_model(pipeline, model_dir=tmp_path, report={})
    activate_version(tmp_path, version)

    model = load_active_model(tmp_path)

    texts = [SPAM, SOBER, ""]
    assert model.version == version
    assert model.spam_probabilities(texts) == pipeline.predict_proba(texts)[:, 1].tolist()


def test_no_model_when_nothing_was_activated(tmp_path):
    assert load_active_model(tmp_path) is None


def test_no_model_when_the_active_artifact_is_gone(tmp_path, pipeline):
    version = save_model(pipeline, model_dir=tmp_path, report={})
    activate_version(tmp_path, version)
    artifact_path(tmp_path, version).unlink()

    assert load_active_model(tmp_path) is None


def test_no_model_when_the_artifact_is_truncated(tmp_path, pipeline):
    version = save_model(pipeline, model_dir=tmp_path, report={})
    path = artifact_path(tmp_path, version)
    path.write_bytes(path.read_bytes()[:1000])
    activate_version(tmp_path, version)

    assert load_active_model(tmp_path) is None


def test_no_model_when_the_artifact_is_not_a_skops_file(tmp_path):
    # Its name carries the right hash, so only skops itself can reject it.
    garbage = b"not a zip file"
    version = f"20260101-000000-{hashlib.sha256(garbage).hexdigest()[:6]}"
    artifact_path(tmp_path, version).write_bytes(garbage)
    activate_version(tmp_path, version)

    assert load_active_model(tmp_path) is None


def test_no_model_when_the_artifact_holds_an_untrusted_type(tmp_path):
    evil = Pipeline([("run", FunctionTransformer(eval))])
    version = save_model(evil, model_dir=tmp_path, report={})
    activate_version(tmp_path, version)

    assert load_active_model(tmp_path) is None


def test_no_model_when_the_artifact_has_another_format_version(tmp_path, pipeline, monkeypatch):
    monkeypatch.setattr(classifier, "MODEL_FORMAT_VERSION", classifier.MODEL_FORMAT_VERSION + 1)
    version = save_model(pipeline, model_dir=tmp_path, report={})
    monkeypatch.undo()
    activate_version(tmp_path, version)

    assert load_active_model(tmp_path) is None


def test_activating_another_version_switches_the_loaded_model(tmp_path, pipeline):
    first = save_model(pipeline, model_dir=tmp_path, report={})
    second = save_model(toy_pipeline("CASH"), model_dir=tmp_path, report={})
    activate_version(tmp_path, first)
    before = load_active_model(tmp_path)

    activate_version(tmp_path, second)

    after = load_active_model(tmp_path)
    assert (before.version, after.version) == (first, second)
    assert after.spam_probability("CASH prize") != before.spam_probability("CASH prize")


def test_held_out_split_keeps_each_duplicate_group_on_one_side():
    # 120 texts, each written three ways that share one dedup key.
    variants = [
        (f"Win {i} prizes now", f"win {i}  PRIZES now", f" WIN {i} prizes NOW ") for i in range(120)
    ]
    texts = list(itertools.chain.from_iterable(variants))
    data = LabeledTexts(
        texts=texts,
        labels=[(i // 3) % 2 for i in range(len(texts))],
        groups=[dedup_key(text) for text in texts],
        sources=["youtube:Psy" if i % 2 else "sms" for i in range(len(texts))],
    )

    train, test = held_out_split(data)

    train_groups = {data.groups[i] for i in train}
    test_groups = {data.groups[i] for i in test}
    assert len(train_groups) == len(test_groups) * 4  # 20% held out
    assert train_groups.isdisjoint(test_groups)


def test_comment_text_combines_body_and_url():
    text = comment_text(body="Great piece.", author_name="Ann", author_url="http://bit.ly/x")

    assert "Great piece." in text
    assert "http://bit.ly/x" in text


def test_comment_text_without_url_is_the_body():
    assert comment_text(body="  Great piece. ") == "Great piece."


def write_slice(source: Path, target: Path, rows: int) -> None:
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        kept = list(itertools.islice(reader, rows))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(kept)


@pytest.fixture(scope="module")
def small_datasets(tmp_path_factory) -> Path:
    """The first rows of each real dataset, in the real layout, to train in seconds."""
    if not DATASETS_DIR.is_dir():
        message = f"datasets missing at {DATASETS_DIR}: set REPLYGUARD_DATASETS_DIR"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    target = tmp_path_factory.mktemp("datasets")
    for path in sorted((DATASETS_DIR / "youtube-spam").glob("Youtube0*-*.csv")):
        write_slice(path, target / "youtube-spam" / path.name, rows=120)
    sms = (DATASETS_DIR / "sms-spam" / "SMSSpamCollection").read_text(encoding="utf-8")
    (target / "sms-spam").mkdir()
    (target / "sms-spam" / "SMSSpamCollection").write_text(
        "\n".join(sms.splitlines()[:800]), encoding="utf-8"
    )
    news = "news-comments-dev/sfu_ctc_dev.csv"
    write_slice(DATASETS_DIR / news, target / news, rows=100)
    return target


@pytest.fixture(scope="module")
def trained(small_datasets, tmp_path_factory) -> tuple[Path, str, dict, list[str]]:
    model_dir, steps = tmp_path_factory.mktemp("models"), []
    version, report = train_and_save(
        datasets_dir=small_datasets,
        model_dir=model_dir,
        publish_below=0.5,
        spam_above=0.99,
        progress=steps.append,
    )
    return model_dir, version, report, steps


def test_trained_model_scores_obvious_spam_above_a_sober_news_sentence(trained):
    model_dir, version, _, _ = trained

    model = load_active_model(model_dir)

    assert model.version == version
    assert model.spam_probability(SPAM) > model.spam_probability(SOBER)


def test_training_report_covers_datasets_held_out_metrics_and_news_thresholds(trained):
    _, version, report, _ = trained

    assert report["version"] == version
    assert {entry["file"] for entry in report["datasets"]} >= {
        "sms-spam/SMSSpamCollection",
        "news-comments-dev/sfu_ctc_dev.csv",
    }
    assert "sms" in report["held_out"]["per_source"]
    assert [row["threshold"] for row in report["thresholds"]] == list(classifier.THRESHOLDS)
    news = report["news_at_configured_thresholds"]
    assert news["published"] + news["held"] + news["binned"] == pytest.approx(1)


def test_training_reports_progress_through_every_step(trained):
    *_, steps = trained

    assert steps == list(classifier.TRAINING_STEPS)

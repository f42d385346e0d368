import csv
import io
import itertools
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from moderation import classifier, training
from moderation.training import LabeledTexts, dedup_key, held_out_split, train_and_save
from tests.conftest import DATASETS_DIR, require

DISTINCT = "zorblax quuxfeed is the best thing on this page"


def write_slice(source: Path, target: Path, rows: int, per_site: int = 0) -> None:
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        kept = list(itertools.islice(reader, rows))
    if per_site:  # the first rows of every site, so the held-out site is in the slice
        by_site = itertools.groupby(sorted(kept, key=lambda row: row["site"]), lambda r: r["site"])
        kept = [row for _, rows in by_site for row in itertools.islice(rows, per_site)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(kept)


@pytest.fixture(scope="module")
def small_datasets(tmp_path_factory) -> Path:
    """The first rows of each real dataset, in the real layout, to train in seconds."""
    require(DATASETS_DIR.is_dir(), f"no datasets at {DATASETS_DIR}: set REPLYGUARD_DATASETS_DIR")
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
    civil = "civil-comments/civil_comments_toxic_spans.csv"
    write_slice(DATASETS_DIR / civil, target / civil, rows=400)
    blog = "blog-spam-wordpress/wordpress_spam.csv"
    write_slice(DATASETS_DIR / blog, target / blog, rows=200)
    links = "stackexchange-links/stackexchange_comments_with_links.csv"
    write_slice(DATASETS_DIR / links, target / links, rows=4000, per_site=40)
    return target


def train(datasets: Path, model_dir: Path, **options) -> tuple[str, dict]:
    return train_and_save(
        datasets_dir=datasets, model_dir=model_dir, publish_below=0.5, spam_above=0.99, **options
    )


@pytest.fixture(scope="module")
def trained(small_datasets, tmp_path_factory) -> tuple[Path, str, dict, list[str]]:
    model_dir, steps = tmp_path_factory.mktemp("models"), []
    version, report = train(small_datasets, model_dir, progress=steps.append)
    return model_dir, version, report, steps


def test_first_model_is_activated_and_scores_spam_above_a_sober_sentence(trained):
    model_dir, version, report, _ = trained

    model = classifier.load_active_model(model_dir)

    assert model.version == version
    assert report["gate"]["activated"]
    spam, sober = (classifier.comment_text(**probe) for probe in training.PROBES[:2])
    assert model.spam_probability(spam) > model.spam_probability(sober)


def test_report_covers_datasets_held_out_metrics_thresholds_and_plots(trained):
    model_dir, version, report, _ = trained

    saved = json.loads(classifier.report_path(model_dir, version).read_text())
    assert saved["version"] == version
    assert {entry["file"] for entry in saved["datasets"]} >= {
        "sms-spam/SMSSpamCollection",
        "news-comments-dev/sfu_ctc_dev.csv",
    }
    assert all(len(entry["sha256"]) == 64 for entry in saved["datasets"])
    assert "sms" in saved["held_out"]["per_source"]
    assert [row["threshold"] for row in saved["thresholds"]] == list(training.THRESHOLDS)
    news = saved["news_at_configured_thresholds"]
    assert news["published"] + news["held"] + news["binned"] == pytest.approx(1)
    for suffix in training.PLOTS:
        assert (model_dir / f"{version}{suffix}").read_bytes()[:4] == b"\x89PNG"


def test_training_reports_progress_through_every_step(trained):
    *_, steps = trained

    assert steps == list(training.TRAINING_STEPS)


def test_gate_keeps_the_active_model_when_the_candidate_is_worse(small_datasets, trained):
    model_dir, active, _, _ = trained
    data = training.load_training_data(small_datasets)
    # Every public text again with the opposite label, twice over: a confused model.
    flipped = [(text, 1 - label) for text, label in zip(data.texts, data.labels, strict=True)] * 2

    version, report = train(small_datasets, model_dir, extra=flipped)

    assert classifier.active_version(model_dir) == active != version
    assert not report["gate"]["activated"]
    assert "held-out F1" in report["gate"]["worse_because"][0]


def test_gate_activates_a_candidate_that_is_not_worse(small_datasets, trained, tmp_path):
    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    active = classifier.active_version(model_dir)

    version, report = train(small_datasets, model_dir)

    assert report["gate"]["worse_because"] == []
    assert classifier.active_version(model_dir) == version != active


def test_gate_activates_a_candidate_when_the_active_model_has_an_older_format(
    small_datasets, trained, tmp_path, monkeypatch
):
    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    active = classifier.active_version(model_dir)
    monkeypatch.setattr(classifier, "MODEL_FORMAT_VERSION", classifier.MODEL_FORMAT_VERSION + 1)

    version, report = train(small_datasets, model_dir)

    assert report["gate"]["active_version"] == active
    assert report["gate"]["active"] is None
    assert classifier.active_version(model_dir) == version != active


def test_moderator_labels_reach_training(small_datasets, trained, tmp_path):
    model_dir, plain, _, _ = trained
    labels = [(f"{DISTINCT} {i}", 1) for i in range(20)]

    taught, report = train(small_datasets, tmp_path, extra=labels)

    assert report["moderator_labels"] == {
        "rows": 20,
        "spam_rows": 20,
        "used": 20,
        "dropped_as_held_out_duplicates": 0,
    }
    before = load(model_dir, plain).spam_probability(DISTINCT)
    assert load(tmp_path, taught).spam_probability(DISTINCT) > before + 0.2


def test_other_sites_labels_reach_training_counted_apart(small_datasets, trained, tmp_path):
    model_dir, plain, _, _ = trained
    labels = [(f"{DISTINCT} {i}", 1) for i in range(20)]

    taught, report = train(small_datasets, tmp_path, site_labels=labels)

    assert report["site_labels"]["used"] == 20 and report["moderator_labels"]["rows"] == 0
    before = load(model_dir, plain).spam_probability(DISTINCT)
    assert load(tmp_path, taught).spam_probability(DISTINCT) > before + 0.1


def test_a_site_cannot_poison_the_model_past_the_gate(small_datasets, trained, tmp_path):
    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    active = classifier.active_version(model_dir)
    data = training.load_training_data(small_datasets)
    # A hostile site reports every public text with the opposite label, three times over.
    flipped = [(text, 1 - label) for text, label in zip(data.texts, data.labels, strict=True)] * 3

    version, report = train(small_datasets, model_dir, site_labels=flipped)

    assert classifier.active_version(model_dir) == active != version
    assert not report["gate"]["activated"]


def load(model_dir: Path, version: str) -> classifier.SpamModel:
    return classifier.load_version(classifier.artifact_path(model_dir, version), version)


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
        fixed_test=[False] * len(texts),
    )

    train_rows, test_rows = held_out_split(data)

    train_groups = {data.groups[i] for i in train_rows}
    test_groups = {data.groups[i] for i in test_rows}
    assert len(train_groups) == len(test_groups) * 4  # 20% held out
    assert train_groups.isdisjoint(test_groups)


def test_fixed_test_rows_are_held_out_and_their_texts_never_trained_on():
    texts = [f"Great post number {i % 50}" for i in range(200)] + [f"Spam {i}" for i in range(200)]
    fixed = [i >= 150 and i < 200 for i in range(400)]  # the "later" part of one source
    data = LabeledTexts(
        texts=texts,
        labels=[1] * 200 + [0] * 200,
        groups=[dedup_key(text) for text in texts],
        sources=["blog"] * 200 + ["sms"] * 200,
        fixed_test=fixed,
    )

    train_rows, test_rows = held_out_split(data)

    assert set(range(150, 200)) <= set(test_rows.tolist())
    # rows 0-149 repeat the held-out texts: none of them may train
    assert not {data.groups[i] for i in train_rows} & {data.groups[i] for i in test_rows}
    assert not set(range(150)) & set(train_rows.tolist())


def test_sources_are_split_by_time_by_id_and_by_site(small_datasets):
    data = training.load_training_data(small_datasets)
    fixed = {
        source: [f for f, s in zip(data.fixed_test, data.sources, strict=True) if s == source]
        for source in set(data.sources)
    }

    blog = fixed["blog"]  # rows sorted by time: the held-out share is the latest
    assert blog == sorted(blog) and sum(blog) == round(len(blog) * training.BLOG_TEST_SHARE)
    assert 0 < sum(fixed["civil"]) < len(fixed["civil"]) / 3
    assert all(fixed[f"stackexchange:{training.HELD_OUT_SITE}"])
    assert not any(fixed["stackexchange:tor"]) and not any(fixed["sms"])
    assert training.load_training_data(small_datasets).fixed_test == data.fixed_test


def test_the_form_reaches_the_model_for_blog_spam(small_datasets):
    data = training.load_training_data(small_datasets)
    blog = [
        classifier.form_parts(t)
        for t, s in zip(data.texts, data.sources, strict=True)
        if s == "blog"
    ]

    assert all(form.author_name for form in blog)
    assert sum(bool(form.author_url) for form in blog) > 0.9 * len(blog)


# --- Commands -----------------------------------------------------------------------------------


@pytest.fixture
def two_versions(tmp_path, settings) -> tuple[Path, str, str]:
    pipeline = classifier.build_pipeline().fit(
        ["WIN cash now http://bit.ly/a", "The budget vote is on Monday."] * 5, [1, 0] * 5
    )
    first = classifier.save_model(pipeline, model_dir=tmp_path, report={})
    second = classifier.save_model(pipeline, model_dir=tmp_path, report={"held_out": {}})
    classifier.activate_version(tmp_path, first)
    classifier.activate_version(tmp_path, second)
    settings.REPLYGUARD_MODEL_DIR = tmp_path
    return tmp_path, first, second


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_model_versions_lists_every_version_and_marks_the_active_one(two_versions):
    _, first, second = two_versions

    lines = run("model_versions", "list").splitlines()

    assert [line.split()[0:2] for line in lines] == [[first, "(no"], ["*", second]]


def test_model_versions_rollback_activates_the_previous_version(two_versions):
    model_dir, first, second = two_versions

    run("model_versions", "rollback")
    assert classifier.load_active_model(model_dir).version == first
    run("model_versions", "activate", second)
    assert classifier.load_active_model(model_dir).version == second


def test_score_file_prints_one_decision_per_comment(two_versions, tmp_path_factory, db):
    _, _, second = two_versions
    path = tmp_path_factory.mktemp("input") / "comments.jsonl"
    comments = [{"body": "WIN cash now", "author_url": "http://bit.ly/a"}, {"body": "Monday."}]
    path.write_text("\n".join(json.dumps(c) for c in comments))

    lines = [json.loads(line) for line in run("score_file", str(path)).splitlines()]

    assert len(lines) == 2
    assert {line["model_version"] for line in lines} == {second}
    assert all(line["decision"] in {"published", "held", "spam"} for line in lines)
    assert lines[0]["spam_probability"] > lines[1]["spam_probability"]


def test_train_classifier_learns_from_moderators_not_from_the_model(
    small_datasets, tmp_path, admin_user
):
    from moderation.services import comment_decide
    from tests.factories import CommentFactory

    for status, person in (("spam", admin_user), ("published", admin_user), ("spam", None)):
        comment = CommentFactory(status="pending", body=f"{DISTINCT} {status}")
        comment_decide(comment=comment, status=status, decided_by=person)

    out = run("train_classifier", "--datasets", str(small_datasets), "--model-dir", str(tmp_path))

    version = classifier.active_version(tmp_path)
    report = json.loads(classifier.report_path(tmp_path, version).read_text())
    assert report["moderator_labels"]["rows"] == 2
    assert report["moderator_labels"]["spam_rows"] == 1
    assert f"Activated spam model {version}" in out


def test_train_classifier_takes_sites_labels_and_moderators_corrections_apart(
    small_datasets, tmp_path, admin_user
):
    from moderation.external import external_checks_label, site_key_create
    from moderation.models import ExternalCheck

    site, _ = site_key_create(name="Partner", blogs=["https://news.example"])
    for n, (label, is_test) in enumerate([("spam", False), ("ham", False), ("spam", True)]):
        ExternalCheck.objects.create(site=site, body=f"{DISTINCT} {n}", label=label,
                                     label_source="site", is_test=is_test)  # fmt: skip
    wrong = ExternalCheck.objects.create(site=site, body=f"{DISTINCT} corrected", spam=True)
    external_checks_label(
        ExternalCheck.objects.filter(pk=wrong.pk), label="ham", moderator=admin_user
    )

    run("train_classifier", "--datasets", str(small_datasets), "--model-dir", str(tmp_path))

    version = classifier.active_version(tmp_path)
    report = json.loads(classifier.report_path(tmp_path, version).read_text())
    assert (report["site_labels"]["rows"], report["site_labels"]["spam_rows"]) == (2, 1)
    assert (report["moderator_labels"]["rows"], report["moderator_labels"]["spam_rows"]) == (1, 0)


def test_the_gate_tolerances_are_settings(settings):
    active = {"held_out_f1": 0.96, "news_binned": 0.0, "news_held": 0.02}
    candidate = {"held_out_f1": 0.95, "news_binned": 0.0, "news_held": 0.03}

    settings.REPLYGUARD_GATE_F1_TOLERANCE = 0.005
    settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = 0.005
    strict = training.gate(candidate, active)
    settings.REPLYGUARD_GATE_F1_TOLERANCE = 0.02
    settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = 0.02
    lenient = training.gate(candidate, active)

    assert len(strict) == 2 and lenient == []
    assert training.gate(candidate | {"news_binned": 0.001}, active)  # binning never tolerated


def test_only_youtube_and_sms_rows_are_drawn_for_the_random_held_out_part():
    texts = [f"unique civil comment {i}" for i in range(100)] + [f"Win {i}" for i in range(100)]
    data = LabeledTexts(
        texts=texts,
        labels=[0] * 100 + [i % 2 for i in range(100)],
        groups=[dedup_key(text) for text in texts],
        sources=["civil"] * 100 + ["sms"] * 100,
        fixed_test=[False] * 200,
    )

    train_rows, test_rows = held_out_split(data)

    assert set(range(100)) <= set(train_rows.tolist())  # civil rows not fixed: all train
    assert 15 <= len(test_rows) <= 25  # 20% of the SMS rows

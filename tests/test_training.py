import csv
import io
import itertools
import json
import logging
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from moderation.spam import classifier, datasets, evaluation, features, training, versions
from moderation.spam.datasets import LabeledTexts, dedup_key, held_out_split
from moderation.spam.training import train_and_save
from tests.conftest import DATASETS_DIR, EVALUATION_DIR

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
    """The first rows of each real dataset, in the real layout, to train in seconds; with the
    evaluation-only news comments where they are present (they never ship)."""
    target = tmp_path_factory.mktemp("datasets")
    for path in sorted((DATASETS_DIR / "youtube-spam").glob("Youtube0*-*.csv")):
        write_slice(path, target / "youtube-spam" / path.name, rows=120)
    sms = (DATASETS_DIR / "sms-spam" / "SMSSpamCollection").read_text(encoding="utf-8")
    (target / "sms-spam").mkdir()
    (target / "sms-spam" / "SMSSpamCollection").write_text(
        "\n".join(sms.splitlines()[:800]), encoding="utf-8"
    )
    news = "news-comments-dev/sfu_ctc_dev.csv"
    if (EVALUATION_DIR / news).is_file():
        write_slice(EVALUATION_DIR / news, target / news, rows=100)
    civil = "civil-comments/civil_comments_toxic_spans.csv"
    write_slice(DATASETS_DIR / civil, target / civil, rows=400)
    blog = "blog-spam-wordpress/wordpress_spam.csv"
    write_slice(DATASETS_DIR / blog, target / blog, rows=200)
    links = "stackexchange-links/stackexchange_comments_with_links.csv"
    write_slice(DATASETS_DIR / links, target / links, rows=4000, per_site=40)
    return target


def train(datasets: Path, model_dir: Path, **options) -> tuple[str, dict]:
    return train_and_save(
        datasets_dir=datasets,
        evaluation_dir=datasets,
        model_dir=model_dir,
        publish_below=0.5,
        spam_above=0.99,
        **options,
    )


# Taught as spam by moderators, by other sites, and never: each model trains once for many tests.
# Made-up words that share nothing, so what one label teaches cannot lift the others.
MODERATORS_SPAM = "zorblax quuxfeed wibbleton"
SITES_SPAM = "plimworth snazzleberry grommetry"
NEVER_LABELLED = "grondle vexitude thrumbleck"


@pytest.fixture(scope="module")
def trained(small_datasets, tmp_path_factory) -> tuple[Path, str, dict, list[str], list[str]]:
    """The one candidate most tests read: trained into an empty model folder, with moderator
    and site labels; what it logged at WARNING or above, kept."""
    model_dir, steps = tmp_path_factory.mktemp("models"), []
    warnings = WarningsKept()
    logging.getLogger().addHandler(warnings)
    try:
        version, report = train(
            small_datasets,
            model_dir,
            progress=steps.append,
            extra=[(f"{MODERATORS_SPAM} {i}", 1) for i in range(20)],
            site_labels=[(f"{SITES_SPAM} {i}", 1) for i in range(20)],
        )
    finally:
        logging.getLogger().removeHandler(warnings)
    return model_dir, version, report, steps, warnings.messages


class WarningsKept(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_first_model_is_activated_and_scores_spam_above_a_sober_sentence(trained):
    model_dir, version, report, *_ = trained

    model = classifier.load_active_model(model_dir)

    assert model.version == version
    assert report["gate"]["activated"]
    spam, sober = (features.comment_text(**probe) for probe in training.PROBES[:2])
    assert model.spam_probability(spam) > model.spam_probability(sober)


def test_training_into_an_empty_folder_never_warns_that_no_model_is_active(trained):
    *_, warnings = trained

    assert not [message for message in warnings if "No active spam model" in message]


def test_report_covers_datasets_held_out_metrics_thresholds_and_plots(trained):
    model_dir, version, *_ = trained

    saved = json.loads(versions.report_path(model_dir, version).read_text())
    assert saved["version"] == version
    assert "sms-spam/SMSSpamCollection" in {entry.get("file") for entry in saved["datasets"]}
    assert all(len(entry["sha256"]) == 64 for entry in saved["datasets"] if "file" in entry)
    assert "sms" in saved["held_out"]["per_source"]
    assert [row["threshold"] for row in saved["thresholds"]] == list(evaluation.THRESHOLDS)
    news = saved["news_at_configured_thresholds"]
    assert news["published"] + news["held"] + news["binned"] == pytest.approx(1)
    for suffix in evaluation.PLOTS:
        assert (model_dir / f"{version}{suffix}").read_bytes()[:4] == b"\x89PNG"


def test_training_reports_progress_through_every_step(trained):
    *_, steps, _ = trained

    assert steps == list(training.TRAINING_STEPS)


def test_moderator_and_site_labels_reach_training_counted_apart(trained):
    model_dir, version, report, *_ = trained
    model = load(model_dir, version)

    assert report["moderator_labels"] == {
        "rows": 20,
        "spam_rows": 20,
        "used": 20,
        "dropped_as_held_out_duplicates": 0,
    }
    # No model was active to agree with the sites' labels, and no moderator did: unused.
    assert (report["site_labels"]["used"], report["site_labels"]["dropped_disagreeing"]) == (0, 20)
    control = model.spam_probability(f"{NEVER_LABELLED} 3")
    assert model.spam_probability(f"{MODERATORS_SPAM} 3") > control + 0.2
    assert model.spam_probability(f"{SITES_SPAM} 3") < control + 0.1


def test_site_labels_the_active_model_agrees_with_are_trained_on(small_datasets, trained, tmp_path):
    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    agreeing = [(f"{MODERATORS_SPAM} site {i}", 1) for i in range(20)]  # it holds these
    contradicting = [(f"{NEVER_LABELLED} site {i}", 1) for i in range(20)]

    _, report = train(small_datasets, model_dir, site_labels=agreeing + contradicting)

    assert (report["site_labels"]["used"], report["site_labels"]["dropped_disagreeing"]) == (20, 20)


def test_without_the_evaluation_only_news_comments_training_says_so_and_goes_on(
    small_datasets, tmp_path
):
    datasets = shutil.copytree(small_datasets, tmp_path / "public-clone")
    shutil.rmtree(datasets / "news-comments-dev", ignore_errors=True)

    version, report = train(datasets, tmp_path / "models")

    [news] = [entry for entry in report["datasets"] if entry["source"] == "news"]
    assert "news-comments-dev not found" in news["skipped"] and "file" not in news
    assert str(tmp_path) not in json.dumps(report["datasets"])  # no path of this host
    assert evaluation.NEWS_GROUP not in report["by_group_at_configured_thresholds"]
    assert report["gate"]["activated"] and versions.active_version(tmp_path / "models")


def test_a_site_cannot_poison_the_model_past_the_gate(small_datasets, trained, tmp_path):
    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    active = versions.active_version(model_dir)
    data = datasets.load_training_data(small_datasets)
    # A hostile site reports every public text with the opposite label, three times over.
    flipped = [(text, 1 - label) for text, label in zip(data.texts, data.labels, strict=True)] * 3

    version, report = train(small_datasets, model_dir, site_labels=flipped)

    assert versions.active_version(model_dir) == active != version
    assert not report["gate"]["activated"]
    assert "held-out F1" in report["gate"]["worse_because"][0]


def test_the_gate_lets_a_candidate_through_when_the_active_model_no_longer_loads(
    trained, monkeypatch
):
    model_dir, version, report, *_ = trained
    held_out = datasets.LabeledTexts(["Fine."], [0], ["fine."], ["civil"], [True])
    thresholds = {"publish_below": 0.5, "spam_above": 0.99}
    # Another format version, as after an upgrade: the active model no longer loads.
    monkeypatch.setattr(versions, "MODEL_FORMAT_VERSION", versions.MODEL_FORMAT_VERSION + 1)
    monkeypatch.setattr(classifier, "_loaded", {})

    active = classifier.load_active_model(model_dir, warn=False)
    figures, news = evaluation.active_model_scores(active, held_out, [], **thresholds)

    assert versions.active_version(model_dir) == version
    assert (active, figures, news) == (None, None, None)
    assert evaluation.gate(report["gate"]["candidate"], figures) == []


def load(model_dir: Path, version: str) -> classifier.SpamModel:
    return classifier.load_version(model_dir, version)


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
    data = datasets.load_training_data(small_datasets)
    fixed = {
        source: [f for f, s in zip(data.fixed_test, data.sources, strict=True) if s == source]
        for source in set(data.sources)
    }

    blog = fixed["blog"]  # rows sorted by time: the held-out share is the latest
    assert blog == sorted(blog) and sum(blog) == round(len(blog) * datasets.BLOG_TEST_SHARE)
    assert 0 < sum(fixed["civil"]) < len(fixed["civil"]) / 3
    assert all(fixed[f"stackexchange:{datasets.HELD_OUT_SITE}"])
    assert not any(fixed["stackexchange:tor"]) and not any(fixed["sms"])
    assert datasets.load_training_data(small_datasets).fixed_test == data.fixed_test


def test_the_form_reaches_the_model_for_blog_spam(small_datasets):
    data = datasets.load_training_data(small_datasets)
    blog = [
        features.form_parts(t) for t, s in zip(data.texts, data.sources, strict=True) if s == "blog"
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
    versions.activate_version(tmp_path, first)
    versions.activate_version(tmp_path, second)
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


def test_train_classifier_learns_from_moderators_and_sites_and_the_gate_activates_it(
    small_datasets, trained, tmp_path, admin_user
):
    from moderation.akismet.checks import external_checks_label, site_key_create
    from moderation.models import ExternalCheck
    from moderation.services import comment_decide
    from tests.factories import CommentFactory

    model_dir = shutil.copytree(trained[0], tmp_path / "models")
    for status, person in (("spam", admin_user), ("published", admin_user), ("spam", None)):
        comment = CommentFactory(status="pending", body=f"{DISTINCT} {status}")
        comment_decide(comment=comment, status=status, decided_by=person)
    site, _ = site_key_create(name="Partner", blogs=["https://news.example"])
    for n, (label, is_test) in enumerate([("spam", False), ("ham", False), ("spam", True)]):
        ExternalCheck.objects.create(site=site, body=f"{DISTINCT} {n}", label=label,
                                     label_source="site", is_test=is_test)  # fmt: skip
    wrong = ExternalCheck.objects.create(site=site, body=f"{DISTINCT} corrected", spam=True)
    external_checks_label(
        ExternalCheck.objects.filter(pk=wrong.pk), label="ham", moderator=admin_user
    )

    folders = {"--datasets": small_datasets, "--evaluation-datasets": small_datasets}
    out = run("train_classifier", "--model-dir", str(model_dir),
              *(str(part) for pair in folders.items() for part in pair))  # fmt: skip

    version = versions.active_version(model_dir)
    report = json.loads(versions.report_path(model_dir, version).read_text())
    # Two decisions by a person, one correction; the model's own decision is no label.
    assert (report["moderator_labels"]["rows"], report["moderator_labels"]["spam_rows"]) == (3, 1)
    assert (report["site_labels"]["rows"], report["site_labels"]["spam_rows"]) == (2, 1)
    assert report["gate"]["worse_because"] == [] and version != trained[1]
    assert f"Activated spam model {version}" in out
    assert "No active spam model" not in out


def test_the_gate_tolerances_are_settings(settings):
    active = {"held_out_f1": 0.96, "news_binned": 0.0, "news_held": 0.02}
    candidate = {"held_out_f1": 0.95, "news_binned": 0.0, "news_held": 0.03}

    settings.REPLYGUARD_GATE_F1_TOLERANCE = 0.005
    settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = 0.005
    strict = evaluation.gate(candidate, active)
    settings.REPLYGUARD_GATE_F1_TOLERANCE = 0.02
    settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = 0.02
    lenient = evaluation.gate(candidate, active)

    assert len(strict) == 2 and lenient == []
    assert evaluation.gate(candidate | {"news_binned": 0.001}, active)  # binning never tolerated


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

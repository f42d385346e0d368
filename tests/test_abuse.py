"""The abuse model (moderation/abuse/): its data split, its scores, the words it shows, its
artifact. Quality against the targets is bench/abuse_quality.py's (docs/abuse-quality.md)."""

import copy
import io
import json
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from moderation import abuse
from moderation.abuse import classifier, datasets, evaluation, training
from moderation.management.commands.train_abuse_model import moderator_labels
from moderation.models import Cause, Comment, ShadowScore
from moderation.services import comment_decide
from moderation.spam import classifier as spam_classifier
from moderation.spam import versions
from moderation.tasks import pending_comments_score_task
from moderation.wording import percent
from tests.conftest import DATASETS_DIR
from tests.factories import ArticleFactory, CommentFactory

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


def test_words_found_for_a_batch_are_each_texts_own(model):
    texts = [INSULT, "", "!!! —", CIVIL + " you moron", "  idiot  "]

    batched = model.word_pushes_of(texts)

    assert batched == [model.word_pushes_of([text])[0] for text in texts]
    assert batched[1] == batched[2] == [] and batched[4][0][:2] == (2, 7)


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
    retrain = "retrain it: python manage.py train_abuse_model"
    with pytest.raises(versions.UnusableModelError, match=retrain):
        classifier.load_version(tmp_path, version)


# --- In the worker's chain ----------------------------------------------------------------------

INSULTING = "You are a pathetic moron and an idiot, shut up and go away you stupid fool."
SOBER = "The council's budget leaves transit funding flat for a third year in a row."


def scored(article, body: str, email: str) -> Comment:
    comment = CommentFactory(article=article, body=body, author_email=email, status="pending")
    pending_comments_score_task.run()
    comment.refresh_from_db()
    return comment


@pytest.mark.django_db
def test_an_insult_is_held_for_abuse_with_its_words_and_a_sober_comment_is_published(
    article, spam_model, abuse_model, caplog
):
    with caplog.at_level("INFO", logger="moderation.services"):
        insult = scored(article, INSULTING, "a@example.org")
    sober = scored(article, SOBER, "b@example.org")

    assert (insult.status, insult.cause) == ("held", Cause.ABUSE)
    shown = {INSULTING[start:end] for start, end in insult.abuse_words}
    assert shown & {"moron", "idiot", "stupid"}
    assert "Abuse probability" in insult.decisions.get().reason
    assert insult.abuse_model_version == abuse_model.version
    assert sober.status == "published" and sober.abuse_score < 0.4 and not sober.abuse_words
    [line] = [r.getMessage() for r in caplog.records if f"comment {insult.pk} " in r.getMessage()]
    assert line.endswith(
        f"(cause abuse, spam {percent(insult.spam_score)}, abuse {percent(insult.abuse_score)})"
    )


@pytest.mark.django_db
def test_the_abuse_reject_band_is_off_by_default_and_an_article_can_set_its_own(
    settings, spam_model, abuse_model
):
    lenient = ArticleFactory(abuse_hold_at=0.999)
    strict = ArticleFactory(abuse_reject_at=0.5)

    assert settings.REPLYGUARD_ABUSE_REJECT_AT is None
    rude = "That is a stupid argument and you know it."  # 0.998 by the suite's model
    assert scored(lenient, rude, "c@example.org").cause != Cause.ABUSE
    rejected = scored(strict, INSULTING, "d@example.org")
    assert (rejected.status, rejected.cause) == ("rejected", Cause.ABUSE)


@pytest.mark.django_db
def test_without_an_abuse_model_nothing_is_held_for_abuse(article, spam_model):
    comment = scored(article, INSULTING, "e@example.org")

    assert comment.cause != Cause.ABUSE and comment.abuse_score is None


@pytest.mark.django_db
def test_a_moderators_abusive_decisions_teach_the_next_abuse_model(
    article, admin_user, tmp_path, trained_abuse_model_dir
):
    # A made-up insult no training row has: only the moderators' decisions can teach it.
    coined = "what a total glorbnak you are, glorbnak"
    for i in range(40):
        comment = CommentFactory(article=article, body=f"{coined} {i}", status="held")
        comment_decide(comment=comment, status="rejected", decided_by=admin_user, cause="abuse")
    for i in range(40):
        comment = CommentFactory(
            article=article, body=f"a fine point on the budget {i}", status="held"
        )
        comment_decide(comment=comment, status="published", decided_by=admin_user)
    labels = moderator_labels()
    before = classifier.load_active_model(trained_abuse_model_dir)

    version, report = training.train_and_save(
        datasets_dir=DATASETS_DIR, model_dir=tmp_path, moderator_labels=labels
    )

    after = classifier.load_version(tmp_path, version)
    assert report["moderator_labels"] == {"rows": 80, "abusive": 40, "used": 80}
    text = "you glorbnak"
    assert after.abuse_probabilities([text])[0] > before.abuse_probabilities([text])[0] + 0.2


@pytest.mark.django_db
def test_score_file_prints_the_abuse_probability_and_words_beside_the_spam_probability(
    spam_model, abuse_model, tmp_path
):
    path = tmp_path / "comments.jsonl"
    path.write_text(json.dumps({"body": INSULTING}) + "\n" + json.dumps({"body": SOBER}) + "\n")
    out = io.StringIO()

    call_command("score_file", str(path), stdout=out)

    insult, sober = (json.loads(line) for line in out.getvalue().splitlines())
    assert insult["abuse_probability"] > 0.9 > 0.4 > sober["abuse_probability"]
    assert set(insult["abuse_words"]) & {"moron", "idiot", "stupid"} and not sober["abuse_words"]
    assert "spam_probability" in insult and insult["abuse_model_version"] == abuse_model.version


# --- Ask before posting: the draft check ----------------------------------------------------------


def draft_url(article) -> str:
    return f"/api/articles/{article.slug}/comment-draft/"


@pytest.mark.django_db
def test_the_draft_check_is_off_unless_the_article_or_the_site_asks(api_client, article):
    answer = api_client.post(draft_url(article), {"body": INSULTING}, format="json")

    assert answer.status_code == 403 and "article" in answer.json()
    form = api_client.get(f"/api/articles/{article.slug}/comment-form/").json()
    assert form["ask_before_posting"] is False


@pytest.mark.django_db
def test_a_draft_that_reads_as_abusive_asks_to_rephrase_and_nothing_is_kept(
    api_client, abuse_model, caplog
):
    article = ArticleFactory(ask_before_posting=True)

    with caplog.at_level("DEBUG"):
        insult = api_client.post(draft_url(article), {"body": INSULTING}, format="json")
        sober = api_client.post(draft_url(article), {"body": SOBER}, format="json")

    assert (insult.status_code, insult.json()) == (200, {"rephrase": True})
    assert (sober.status_code, sober.json()) == (200, {"rephrase": False})
    assert insult["Cache-Control"] == "no-store"
    assert not Comment.objects.exists()
    assert "moron" not in caplog.text  # the draft is in no log line
    assert api_client.get(f"/api/articles/{article.slug}/comment-form/").json()[
        "ask_before_posting"
    ]


@pytest.mark.django_db
def test_a_draft_check_without_an_abuse_model_never_asks(api_client):
    article = ArticleFactory(ask_before_posting=True)

    answer = api_client.post(draft_url(article), {"body": INSULTING}, format="json")

    assert answer.json() == {"rephrase": False}


@pytest.mark.django_db
def test_draft_checks_are_rate_limited_and_a_bad_draft_is_a_400_naming_the_field(
    api_client, settings
):
    settings.REPLYGUARD_RATE_DRAFT_CHECK = "2/minute"
    settings.REPLYGUARD_BODY_MAX_LENGTH = 50
    article = ArticleFactory(ask_before_posting=True)

    too_long = api_client.post(draft_url(article), {"body": "x" * 51}, format="json")
    missing = api_client.post(draft_url(article), {}, format="json")
    third = api_client.post(draft_url(article), {"body": "fine"}, format="json")

    assert too_long.status_code == 400 and "body" in too_long.json()
    assert missing.status_code == 400 and "body" in missing.json()
    assert third.status_code == 429 and "Retry-After" in third


@pytest.mark.django_db
def test_abuse_model_versions_are_listed_activated_and_rolled_back(
    trained_abuse_model_dir, tmp_path
):
    pipeline = classifier.load_active_model(trained_abuse_model_dir).pipeline
    first = classifier.save_model(pipeline, model_dir=tmp_path, report={"held_out": {}})
    versions.activate_version(tmp_path, first)
    other = copy.deepcopy(pipeline)
    other.named_steps["classifier"].intercept_ += 0.1  # other bytes: another version
    second = classifier.save_model(other, model_dir=tmp_path, report={"held_out": {}})

    def run(*arguments) -> str:
        out = io.StringIO()
        command = ["model_versions", "--abuse", "--model-dir", str(tmp_path), *arguments]
        call_command(*command, stdout=out)
        return out.getvalue()

    run("activate", second)
    assert classifier.load_active_model(tmp_path).version == second
    run("rollback")
    assert classifier.load_active_model(tmp_path).version == first
    assert f"* {first}" in run("list")
    (tmp_path / f"{second}.skops").write_bytes(b"broken")
    with pytest.raises(CommandError, match="cannot be activated"):
        run("activate", second)  # refused: a worker could not load it


def test_the_gate_refuses_a_worse_abuse_model_by_its_own_tolerances(settings):
    active = {"roc_auc": 0.977, "news_not_toxic_held": 0.015}
    close = {"roc_auc": 0.975, "news_not_toxic_held": 0.018}
    worse = {"roc_auc": 0.970, "news_not_toxic_held": 0.030}
    settings.REPLYGUARD_GATE_F1_TOLERANCE = 1  # the spam model's: not the abuse model's
    settings.REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = 1

    assert training.gate(close, active) == [] and training.gate(worse, None) == []
    refused = training.gate(worse, active)
    assert len(refused) == 2 and "ROC AUC 0.97 < active 0.977" in refused[0]
    assert "holds 3.0% of news comments rated not toxic, active 1.5%" in refused[1]
    settings.REPLYGUARD_ABUSE_GATE_AUC_TOLERANCE = 0.01
    settings.REPLYGUARD_ABUSE_GATE_NEWS_HELD_TOLERANCE = 0.02
    assert training.gate(worse, active) == []


# --- Shadow mode: an abuse candidate beside the active abuse model ------------------------------


@pytest.fixture
def abuse_candidate(settings, tmp_path, trained_abuse_model_dir) -> str:
    """The suite's abuse model active, and in shadow mode a copy that reads everything as
    abusive, in a model dir of their own. Returns the candidate's version."""
    pipeline = classifier.load_active_model(trained_abuse_model_dir).pipeline
    active = classifier.save_model(pipeline, model_dir=tmp_path, report={"held_out": {}})
    versions.activate_version(tmp_path, active)
    harsh = copy.deepcopy(pipeline)
    harsh.named_steps["classifier"].intercept_ += 20
    candidate = classifier.save_model(harsh, model_dir=tmp_path, report={"held_out": {}})
    versions.shadow_set(tmp_path, candidate, **abuse.ARTIFACT)
    settings.REPLYGUARD_ABUSE_MODEL_DIR = tmp_path
    return candidate


@pytest.fixture
def texts_scored(monkeypatch):
    """How many texts each model version scored (spam and abuse), counted as they are."""
    counted = Counter()

    def counting(method, texts_at):
        def wrapper(self, *args):
            counted[self.version] += len(args[texts_at])
            return method(self, *args)

        return wrapper

    for model, name in [
        (classifier.AbuseModel, "abuse_probabilities"),
        (spam_classifier.SpamModel, "cases_probabilities"),
        (spam_classifier.SpamModel, "cases_scores_and_reasons"),
    ]:
        monkeypatch.setattr(model, name, counting(getattr(model, name), 0))
    return counted


@pytest.mark.django_db
def test_an_abuse_candidate_scores_beside_the_active_one_and_decides_nothing(
    article, spam_model, abuse_candidate, texts_scored
):
    active = classifier.load_active_model().version
    comment = scored(article, SOBER, "civil@example.org")

    assert comment.status == "published" and comment.abuse_model_version == active
    row = ShadowScore.objects.get(comment=comment)
    assert (row.kind, row.model_version) == ("abuse", abuse_candidate)
    assert (row.active_status, row.status) == ("published", "held")
    assert row.scores_compared == (comment.abuse_score, row.abuse_score)
    assert row.abuse_score > 0.99 and row.spam_score == comment.spam_score
    # Only the candidate scores again: the active models' scores are the batch's own.
    assert texts_scored == {spam_model.version: 1, active: 1, abuse_candidate: 1}


@pytest.mark.django_db
def test_a_spam_candidate_reuses_the_active_abuse_score(
    settings, article, spam_model, abuse_model, tmp_path, texts_scored
):
    settings.REPLYGUARD_MODEL_DIR = tmp_path
    active = spam_classifier.save_model(spam_model.pipeline, model_dir=tmp_path, report={})
    versions.activate_version(tmp_path, active)
    other = copy.deepcopy(spam_model.pipeline)  # other bytes: another version
    other.named_steps["classifier"].calibrated_classifiers_[0].estimator.intercept_ += 1e-9
    candidate = spam_classifier.save_model(other, model_dir=tmp_path, report={})
    versions.shadow_set(tmp_path, candidate)

    comment = scored(article, INSULT, "rude@example.org")

    row = ShadowScore.objects.get(comment=comment)
    assert row.kind == "spam" and row.abuse_score == comment.abuse_score
    assert row.status == comment.status == "held"  # held for abuse by both passes
    assert texts_scored[abuse_model.version] == 1 and texts_scored[candidate] == 1


@pytest.mark.django_db
def test_the_abuse_candidate_is_put_in_shadow_mode_reported_and_activated_by_command(
    settings, article, spam_model, abuse_candidate
):
    def run(*arguments) -> str:
        out = io.StringIO()
        call_command("model_versions", "--abuse", *arguments, stdout=out)
        return out.getvalue()

    model_dir = settings.REPLYGUARD_ABUSE_MODEL_DIR
    assert run("shadow", "off") and versions.shadow_version(model_dir) is None
    assert "abuse model" in run("shadow", abuse_candidate)
    assert f"s {abuse_candidate}" in run("list")
    scored(article, SOBER, "civil@example.org")
    report = run("shadow-report")
    assert "published -> held: 1  (disagree)" in report and "-> 99% held" in report
    assert "Activated abuse model" in run("activate", abuse_candidate)
    assert versions.shadow_version(model_dir) is None
    assert classifier.load_active_model().version == abuse_candidate


@pytest.mark.django_db
def test_the_admin_shows_and_activates_the_abuse_candidate(
    settings, client, admin_user, article, spam_model, abuse_candidate
):
    client.force_login(admin_user)
    scored(article, SOBER, "civil@example.org")
    page = client.get("/admin/moderation/shadowscore/").content.decode()
    assert f"Abuse model candidate {abuse_candidate} in shadow mode" in page
    assert "it disagreed on 1." in page

    answer = client.post(
        "/admin/moderation/shadowscore/activate/", {"version": abuse_candidate, "kind": "abuse"}
    )

    assert answer.status_code == 302
    assert classifier.load_active_model().version == abuse_candidate
    assert versions.shadow_version(settings.REPLYGUARD_ABUSE_MODEL_DIR) is None


def test_a_spam_model_cannot_shadow_the_abuse_model(trained_model_dir, tmp_path):
    spam_version = versions.active_version(trained_model_dir)
    for name in (f"{spam_version}.skops", f"{spam_version}.report.json"):
        (tmp_path / name).write_bytes((trained_model_dir / name).read_bytes())
    with pytest.raises(versions.UnusableCandidateError, match="train_abuse_model"):
        versions.shadow_set(tmp_path, spam_version, **abuse.ARTIFACT)

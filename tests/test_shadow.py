"""Shadow mode: a candidate model scores live comments beside the active one and decides nothing;
the report, the admin page and the commands show where the two disagree."""

from io import StringIO
from typing import NamedTuple

import pytest
from django.core.management import CommandError, call_command

from articles.models import Article
from moderation import spam
from moderation.models import ShadowScore
from moderation.services import comment_create
from moderation.spam import classifier, features, shadow
from moderation.spam import versions as spam_versions
from moderation.tasks import pending_comments_score_task
from moderation.wording import percent
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

READER = "The council debated the transit budget again on the third day."
SHADOW_PAGE = "/admin/moderation/shadowscore/"
ACTIVATE = f"{SHADOW_PAGE}activate/"


def toy_pipeline(*, flipped: bool):
    """A tiny model that tells prize spam from council news; flipped, it calls the news spam."""
    spam = [f"WIN a FREE prize, call 0906170146{i} now!! http://bit.ly/{i}" for i in range(10)]
    ham = [f"The council debated the transit budget on day {i}." for i in range(10)]
    texts = [features.comment_text(body=body) for body in spam + ham]
    labels = [int(not flipped)] * 10 + [int(flipped)] * 10
    return classifier.build_pipeline().fit(texts, labels)


@pytest.fixture(scope="module")
def pipelines():
    return toy_pipeline(flipped=False), toy_pipeline(flipped=True)


class Versions(NamedTuple):
    active: str
    candidate: str


@pytest.fixture
def versions(settings, tmp_path, pipelines) -> Versions:
    """The sober model active and the flipped one in shadow mode, in a model dir of their own."""
    settings.REPLYGUARD_MODEL_DIR = tmp_path
    active, candidate = (
        classifier.save_model(pipeline, model_dir=tmp_path, report={}) for pipeline in pipelines
    )
    spam_versions.activate_version(tmp_path, active)
    spam_versions.shadow_set(tmp_path, candidate)
    return Versions(active, candidate)


def scored(article, body=READER, email="mina@example.org"):
    comment = comment_create(article=article, author_name="Mina", author_email=email, body=body)
    pending_comments_score_task()
    comment.refresh_from_db()
    return comment


def what_was_decided(comment) -> tuple:
    fields = ("status", "spam_score", "model_version", "spam_reasons", "cause", "rule_hits")
    decisions = comment.decisions.values_list(
        "decided_by", "from_status", "to_status", "spam_score", "model_version", "reason"
    )
    return tuple(getattr(comment, field) for field in fields), list(decisions)


# --- Scoring ------------------------------------------------------------------------------------


def test_a_candidate_scores_live_comments_without_changing_what_is_decided(
    settings, article, versions
):
    spam_versions.shadow_clear(settings.REPLYGUARD_MODEL_DIR)
    without = scored(article, email="first@example.org")
    decided_without = what_was_decided(without)
    without.delete()  # else the same text again is a copy of it, held (flood.recent_copies)
    spam_versions.shadow_set(settings.REPLYGUARD_MODEL_DIR, versions.candidate)

    with_shadow = scored(article, email="second@example.org")

    assert what_was_decided(with_shadow) == decided_without
    assert with_shadow.status == "published"
    assert with_shadow.model_version == versions.active
    row = ShadowScore.objects.get()
    assert (row.comment, row.model_version) == (with_shadow, versions.candidate)
    assert (row.active_status, row.active_score) == ("published", with_shadow.spam_score)
    assert row.status in ("held", "spam")
    assert not row.agrees


def test_the_candidate_decides_by_the_same_policy_as_the_active_model(versions):
    premoderated = ArticleFactory(moderation_mode=Article.ModerationMode.PREMODERATED)

    comment = scored(premoderated)

    row = comment.shadow_scores.get()
    assert comment.status == row.active_status == row.status == "held"
    assert row.agrees


def test_a_broken_candidate_artifact_does_not_stop_comments_being_decided(
    settings, article, versions
):
    path = spam_versions.artifact_path(settings.REPLYGUARD_MODEL_DIR, versions.candidate)
    path.write_bytes(path.read_bytes()[:1000])

    comment = scored(article)

    assert comment.status == "published"
    assert comment.decisions.count() == 1
    assert not ShadowScore.objects.exists()


def test_a_candidate_failing_to_score_does_not_stop_comments_being_decided(
    article, versions, monkeypatch
):
    class Failing:
        version = versions.candidate

        def cases_probabilities(self, cases, trusted_domains):
            raise ValueError("the candidate's features changed under it")

    monkeypatch.setattr(spam, "shadow_model", Failing)

    comment = scored(article)

    assert comment.status == "published"
    assert comment.decisions.count() == 1
    assert not ShadowScore.objects.exists()


def test_no_candidate_means_no_shadow_scores(settings, article, versions):
    spam_versions.shadow_clear(settings.REPLYGUARD_MODEL_DIR)

    scored(article)

    assert classifier.load_shadow_model() is None
    assert not ShadowScore.objects.exists()


# --- Choosing the candidate ---------------------------------------------------------------------


def test_a_version_that_does_not_load_cannot_be_put_in_shadow_mode(tmp_path, versions):
    path = spam_versions.artifact_path(tmp_path, versions.candidate)
    path.write_bytes(path.read_bytes()[:1000])

    with pytest.raises(spam_versions.UnusableCandidateError, match="does not load"):
        spam_versions.shadow_set(tmp_path, versions.candidate)
    with pytest.raises(spam_versions.UnusableCandidateError, match="not a model version"):
        spam_versions.shadow_set(tmp_path, "../ACTIVE")


def test_the_active_model_cannot_shadow_itself(tmp_path, versions):
    with pytest.raises(spam_versions.UnusableCandidateError, match="active"):
        spam_versions.shadow_set(tmp_path, versions.active)

    spam_versions.activate_version(tmp_path, versions.candidate)
    assert classifier.load_shadow_model(tmp_path) is None


# --- The report ---------------------------------------------------------------------------------


def test_the_report_counts_agreements_and_shows_the_latest_disagreements(article, versions):
    disagreed = scored(article)
    scored(ArticleFactory(moderation_mode=Article.ModerationMode.PREMODERATED), email="b@ex.org")

    report = shadow.shadow_report(versions.candidate)

    assert (report["total"], report["agreeing"], report["agreement"]) == (2, 1, 0.5)
    pairs = {(p["active_status"], p["status"]): p["count"] for p in report["matrix"]}
    assert pairs[("held", "held")] == 1
    assert sum(pairs.values()) == 2
    [example] = report["disagreements"]
    assert example["comment_id"] == disagreed.pk
    assert example["body"] == READER
    assert (example["active_status"], example["active_score"]) == (
        "published",
        disagreed.spam_score,
    )


def test_the_report_reads_in_two_queries(article, versions, django_assert_num_queries):
    for i in range(3):
        scored(article, body=f"{READER} Part {i}.", email=f"r{i}@example.org")

    with django_assert_num_queries(2):
        report = shadow.shadow_report(versions.candidate)

    assert len(report["disagreements"]) == 3


@pytest.mark.parametrize(
    "score, shown", [(None, "—"), (0.0, "0%"), (0.29, "29%"), (0.974, "97%"), (1.0, "99%")]
)
def test_scores_show_as_whole_percentages_of_at_most_two_digits(score, shown):
    assert percent(score) == shown


# --- The admin ----------------------------------------------------------------------------------


@pytest.fixture
def superuser(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_admin_page_shows_the_report_and_the_disagreements(superuser, article, versions):
    comment = scored(article)

    page = superuser.get(SHADOW_PAGE).content.decode()
    only_disagreements = superuser.get(SHADOW_PAGE, {"disagree": "yes"}).content.decode()

    assert f"Spam model candidate {versions.candidate} in shadow mode" in page
    assert "(0% agreement)" in page
    assert f"/admin/moderation/comment/{comment.pk}/change/" in page
    assert READER in only_disagreements
    assert "Activate this spam model candidate" in page


def test_the_admin_page_is_read_only(superuser, article, versions):
    row_id = scored(article).shadow_scores.get().pk

    assert superuser.get(f"{SHADOW_PAGE}add/").status_code == 403
    assert superuser.post(f"{SHADOW_PAGE}{row_id}/delete/", {"post": "yes"}).status_code == 403
    assert ShadowScore.objects.filter(pk=row_id).exists()


def test_a_superuser_activates_the_candidate_and_ends_shadow_mode(superuser, tmp_path, versions):
    response = superuser.post(ACTIVATE, {"version": versions.candidate}, follow=True)

    assert spam_versions.active_version(tmp_path) == versions.candidate
    assert spam_versions.shadow_version(tmp_path) is None
    assert f"Activated spam model {versions.candidate}" in response.content.decode()


def test_a_candidate_replaced_since_the_page_was_shown_is_not_activated(
    superuser, tmp_path, versions
):
    response = superuser.post(ACTIVATE, {"version": versions.active}, follow=True)

    assert "no longer the model in shadow mode" in response.content.decode()
    assert spam_versions.shadow_version(tmp_path) == versions.candidate


def test_only_a_superuser_may_activate_the_candidate(client, django_user_model, tmp_path, versions):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("desk", password="pw-123456-long", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__contains="shadowscore"))
    staff.user_permissions.add(Permission.objects.get(codename="moderate_comment"))
    client.force_login(staff)

    page = client.get(SHADOW_PAGE).content.decode()
    response = client.post(ACTIVATE, {"version": versions.candidate})

    assert "Activate this spam model candidate" not in page
    assert response.status_code == 403
    assert spam_versions.active_version(tmp_path) == versions.active
    assert spam_versions.shadow_version(tmp_path) == versions.candidate


def test_activating_needs_a_post(superuser, versions):
    assert superuser.get(ACTIVATE).status_code == 405


# --- The commands -------------------------------------------------------------------------------


def model_versions(*args) -> str:
    out = StringIO()
    call_command("model_versions", *args, stdout=out)
    return out.getvalue()


def test_the_shadow_command_starts_and_stops_shadow_mode(tmp_path, versions):
    model_versions("shadow", "off")
    assert spam_versions.shadow_version(tmp_path) is None

    model_versions("shadow", versions.candidate)

    assert spam_versions.shadow_version(tmp_path) == versions.candidate
    listed = model_versions("list")
    assert f"* {versions.active}" in listed and f"s {versions.candidate}" in listed


def test_the_shadow_command_refuses_a_version_that_does_not_load(tmp_path, versions):
    with pytest.raises(CommandError, match="cannot be put in shadow mode"):
        model_versions("shadow", "20260101-000000-abcdef")


def test_the_shadow_report_command_prints_agreement_matrix_and_examples(article, versions):
    comment = scored(article)

    printed = model_versions("shadow-report")

    assert f"{versions.candidate} scored 1 comment(s)" in printed
    assert "agreed with the decision on 0 (0%)" in printed
    assert "published -> " in printed and "(disagree)" in printed
    assert f"#{comment.pk} " in printed and READER in printed


def test_the_shadow_report_command_needs_a_candidate(tmp_path, versions):
    spam_versions.shadow_clear(tmp_path)

    with pytest.raises(CommandError, match="No model is in shadow mode"):
        model_versions("shadow-report")


def test_activating_the_shadow_version_ends_shadow_mode(tmp_path, versions):
    printed = model_versions("activate", versions.candidate)

    assert spam_versions.active_version(tmp_path) == versions.candidate
    assert spam_versions.shadow_version(tmp_path) is None
    assert "shadow mode is now off" in printed

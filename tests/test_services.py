"""The comment state machine: policy thresholds, scoring, and every decision recorded."""

import io

import pytest
from django.core.exceptions import ValidationError

from moderation import wakeup
from moderation.models import Comment, Decision
from moderation.policy import policy_band
from moderation.scoring import pending_comments_score
from moderation.services import (
    CommentsClosed,
    comment_create,
    comment_decide,
)
from moderation.tasks import pending_comments_score_task
from moderation.wording import percent
from tests.factories import ArticleFactory, CommentFactory

pytestmark = pytest.mark.django_db

SPAM = "CHECK OUT MY CHANNEL, FREE GIFT CARDS http://bit.ly/x"
READER = (
    "Both governments deserve credit for keeping the talks going. The harder question is "
    "whether the next prime minister will spend the same political capital on it."
)


def new_comment(article, body=READER, **fields):
    return comment_create(
        article=article, author_name="Mina", author_email="mina@example.org", body=body, **fields
    )


@pytest.mark.parametrize(
    "probability, expected",
    [(0.0, "published"), (0.49, "published"), (0.5, "held"), (0.98, "held"), (0.99, "spam")],
)
def test_policy_uses_the_site_thresholds(settings, probability, expected):
    settings.REPLYGUARD_PUBLISH_BELOW, settings.REPLYGUARD_SPAM_ABOVE = 0.5, 0.99
    article = ArticleFactory()

    status, reason = policy_band(article=article, spam_probability=probability)

    assert status == expected
    assert f"Spam probability {percent(probability)}" in reason


def test_an_article_can_override_the_thresholds(settings):
    settings.REPLYGUARD_PUBLISH_BELOW, settings.REPLYGUARD_SPAM_ABOVE = 0.5, 0.99
    strict = ArticleFactory(publish_below=0.1, spam_above=0.6)

    assert policy_band(article=strict, spam_probability=0.2)[0] == "held"
    assert policy_band(article=strict, spam_probability=0.7)[0] == "spam"
    assert policy_band(article=strict, spam_probability=0.05)[0] == "published"


@pytest.mark.parametrize("probability", [0.0, 0.7, 1.0])
def test_a_premoderated_article_holds_every_comment(probability):
    article = ArticleFactory(moderation_mode="premoderated")

    status, reason = policy_band(article=article, spam_probability=probability)

    assert status == "held"
    assert "pre-moderated" in reason


def test_default_thresholds_are_ordered_and_conservative(settings):
    # Conservative: a real reader must never be binned, so nothing below 0.9 is filed as spam.
    assert 0 < settings.REPLYGUARD_PUBLISH_BELOW < settings.REPLYGUARD_SPAM_ABOVE <= 1
    assert settings.REPLYGUARD_SPAM_ABOVE >= 0.9


def test_create_saves_a_pending_comment_and_scores_it_after_commit(
    article, spam_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        comment = new_comment(article)
        assert Comment.objects.get(pk=comment.pk).status == "pending"

    assert len(callbacks) == 1
    comment.refresh_from_db()
    assert comment.status == "published"
    assert comment.model_version == spam_model.version


def test_create_refuses_a_closed_article():
    with pytest.raises(CommentsClosed):
        new_comment(ArticleFactory(comments_open=False))
    assert not Comment.objects.exists()


def test_a_reply_must_be_on_its_parents_article(article):
    elsewhere = CommentFactory(article=ArticleFactory())

    with pytest.raises(ValidationError) as error:
        new_comment(article, parent=elsewhere)

    assert "parent" in error.value.message_dict
    assert Comment.objects.count() == 1


def test_a_reply_belongs_to_its_top_level_thread(article):
    top = CommentFactory(article=article)
    reply = new_comment(article, parent=top, body="A reply.")
    reply_to_reply = new_comment(article, parent=reply, body="A reply to the reply.")

    assert (reply.thread, reply_to_reply.thread) == (top, top)


def test_scoring_publishes_a_reader_and_files_obvious_spam(article, spam_model):
    reader, spam = new_comment(article), new_comment(article, body=SPAM)

    pending_comments_score_task()
    pending_comments_score_task()

    reader.refresh_from_db()
    spam.refresh_from_db()
    assert reader.status == "published"
    assert spam.status in ("held", "spam")
    assert spam.spam_score > reader.spam_score


def test_scoring_stores_what_pushed_the_score_up(article, spam_model):
    spam = new_comment(article, body=SPAM)

    pending_comments_score_task()

    spam.refresh_from_db()
    assert 1 <= len(spam.spam_reasons) <= 3
    pushed = {"'check'", "'channel'", "'free'", "'gift'", "a shortened link", "a link to bit.ly"}
    assert set(spam.spam_reasons) <= pushed, spam.spam_reasons


def test_reasons_are_worked_out_only_for_comments_a_moderator_will_see(
    article, spam_model, monkeypatch
):
    # The explanations were most of the models' time: a published comment goes without.
    explained = []
    explain = type(spam_model).cases_scores_and_reasons

    def counting(model, cases, trusted):
        explained.extend(case.body for case in cases)
        return explain(model, cases, trusted)

    monkeypatch.setattr(type(spam_model), "cases_scores_and_reasons", counting)
    reader, spam = new_comment(article), new_comment(article, body=SPAM)

    pending_comments_score_task()

    reader.refresh_from_db()
    spam.refresh_from_db()
    assert (reader.status, reader.spam_reasons) == ("published", [])
    assert spam.status != "published" and spam.spam_reasons
    assert explained == [SPAM]


def test_scoring_records_score_version_and_an_audit_record(article, spam_model):
    comment = new_comment(article)

    pending_comments_score_task()

    comment.refresh_from_db()
    decision = comment.decisions.get()
    assert decision.decided_by is None  # the system decided
    assert (decision.from_status, decision.to_status) == ("pending", comment.status)
    assert decision.spam_score == comment.spam_score
    assert 0.0 <= comment.spam_score <= 1.0
    assert decision.model_version == comment.model_version == spam_model.version
    assert comment.decided_at is not None


def test_scoring_twice_decides_once(article, spam_model):
    comment = new_comment(article)

    pending_comments_score_task()
    pending_comments_score_task()

    assert comment.decisions.count() == 1


def test_scoring_leaves_an_already_decided_comment_alone(article, spam_model):
    comment = CommentFactory(article=article, body=SPAM, status="published")

    pending_comments_score_task()

    comment.refresh_from_db()
    assert comment.status == "published"
    assert not comment.decisions.exists()


def test_scoring_with_nothing_pending_does_nothing(spam_model):
    assert pending_comments_score_task() == 0  # nothing pending


def test_without_a_model_comments_are_held_for_a_human(article, no_model):
    comment = new_comment(article)

    pending_comments_score_task()

    comment.refresh_from_db()
    assert comment.status == "held"
    assert comment.spam_score is None
    assert "No spam model" in comment.decisions.get().reason


def test_decide_records_who_moved_the_comment_from_what_to_what(article, admin_user):
    comment = CommentFactory(article=article, status="held", spam_score=0.7)

    changed = comment_decide(
        comment=comment, status="published", decided_by=admin_user, reason="Fine."
    )

    assert changed
    decision = Decision.objects.get()
    assert (decision.from_status, decision.to_status) == ("held", "published")
    assert decision.decided_by == admin_user
    assert decision.spam_score == 0.7
    comment.refresh_from_db()
    assert comment.status == "published" and comment.published_at is not None


def test_deciding_the_same_status_again_changes_and_records_nothing(article, admin_user):
    comment = CommentFactory(article=article, status="published")

    assert not comment_decide(comment=comment, status="published", decided_by=admin_user)
    assert not Decision.objects.exists()


def test_a_stale_decision_loses_to_the_one_that_came_first(article, admin_user):
    comment = CommentFactory(article=article, status="pending")
    stale_copy = Comment.objects.get(pk=comment.pk)

    assert comment_decide(comment=comment, status="spam", decided_by=admin_user)
    assert not comment_decide(comment=stale_copy, status="published")

    comment.refresh_from_db()
    assert comment.status == "spam"
    assert Decision.objects.count() == 1


def test_unpublishing_clears_the_publication_time(article, admin_user):
    comment = CommentFactory(article=article, status="held")
    comment_decide(comment=comment, status="published", decided_by=admin_user)

    comment_decide(comment=comment, status="rejected", decided_by=admin_user)

    comment.refresh_from_db()
    assert comment.published_at is None
    assert list(comment.decisions.values_list("to_status", flat=True)) == [
        "published",
        "rejected",
    ]


def test_only_a_persons_latest_publish_or_spam_decision_is_a_training_label(admin_user):
    def decided(*steps):
        comment = CommentFactory(status="pending")
        for status, person in steps:
            comment_decide(comment=comment, status=status, decided_by=person)
        return comment

    system = None
    by_model_only = decided(("spam", system))
    published = decided(("held", system), ("published", admin_user))
    binned = decided(("published", system), ("spam", admin_user))
    changed_mind = decided(("spam", admin_user), ("published", admin_user))
    rejected = decided(("held", system), ("rejected", admin_user))
    person_then_model = decided(("spam", admin_user), ("held", system))

    labels = {c.pk: c.moderator_decision for c in Comment.objects.labeled_by_moderators()}

    assert labels == {
        published.pk: "published",
        binned.pk: "spam",
        changed_mind.pk: "published",
        person_then_model.pk: "spam",
    }
    assert by_model_only.pk not in labels and rejected.pk not in labels


def test_the_sweep_wakes_the_workers_only_when_a_comment_waited_too_long(article, spam_model):
    from datetime import timedelta

    from django.utils import timezone

    from moderation.scoring import stale_pending_requeue

    fresh = CommentFactory(article=article, status="pending", body=READER)
    decided = CommentFactory(article=article, status="held", body=f"{READER} Again.")
    Comment.objects.filter(pk=decided.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    assert stale_pending_requeue(older_than=timedelta(minutes=2)) == 0  # tasks run inline here
    assert Comment.objects.get(pk=fresh.pk).status == "pending"

    lost = CommentFactory(article=article, status="pending", body=f"{READER} Indeed.")
    Comment.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    assert stale_pending_requeue(older_than=timedelta(minutes=2)) == 1
    statuses = dict(Comment.objects.values_list("pk", "status"))
    # Woken, a worker scores every pending comment, oldest first; decided ones stay as they are.
    assert statuses == {lost.pk: "published", fresh.pk: "published", decided.pk: "held"}


def test_pipeline_status_tells_the_backlog_its_oldest_wait_and_decision_times(article):
    import json
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    now = timezone.now()
    for seconds_ago, waited in ((30, 0.2), (20, 0.4), (10, 3.0)):
        comment = CommentFactory(article=article, status="published")
        created = now - timedelta(seconds=seconds_ago)
        Comment.objects.filter(pk=comment.pk).update(
            created_at=created, decided_at=created + timedelta(seconds=waited)
        )
    waiting = CommentFactory(article=article, status="pending")
    Comment.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(seconds=90))
    CommentFactory(article=article, status="pending")
    out = io.StringIO()

    call_command("pipeline_status", "--minutes", "5", stdout=out)

    status = json.loads(out.getvalue())
    assert status["pending"] == 2
    assert 89 <= status["oldest_pending_seconds"] < 120
    assert status["decided"] == 3
    assert status["decision_p50_seconds"] == pytest.approx(0.4, abs=0.01)
    assert status["decision_p99_seconds"] == pytest.approx(3.0, abs=0.01)


CITING_READERS = [
    "For context on the 1965 treaty see https://en.wikipedia.org/wiki/"
    "Treaty_on_Basic_Relations_between_Japan_and_the_Republic_of_Korea",
    "Reuters has the trade figures: https://www.reuters.com/world/asia-pacific/japan-korea/",
    "The full text of the agreement is here: https://www.mofa.go.jp/region/asia-paci/korea/",
]
FORM_SPAM = [
    ("You have brought up a very good points, regards for the post.", "Home Improvement",
     "http://www.best-mattress-reviews.net/"),
    ("I'm extremely impressed with your writing skills and also with the layout on your blog.",
     "internet marketing", "http://www.colourlovers.com/lover/violetlog2015"),
]  # fmt: skip


def test_the_shipped_model_publishes_readers_who_cite_sources_and_not_form_spam(
    article, spam_model
):
    readers = [new_comment(article, body=body) for body in CITING_READERS]
    spam = [  # other emails: three published comments made mina@example.org a trusted author
        comment_create(
            article=article,
            author_email=f"s{i}@example.net",
            body=body,
            author_name=name,
            author_url=url,
        )
        for i, (body, name, url) in enumerate(FORM_SPAM)
    ]

    pending_comments_score_task()

    assert [Comment.objects.get(pk=c.pk).status for c in readers] == ["published"] * 3
    assert "published" not in {Comment.objects.get(pk=c.pk).status for c in spam}
    form_reasons = ("website field: ", "name: ", "generic praise")
    for comment in spam:  # reasons in words, naming where form spam hides
        reasons = Comment.objects.get(pk=comment.pk).spam_reasons
        assert any(reason.startswith(form_reasons) for reason in reasons), reasons


def test_a_task_claims_at_most_the_batch_characters_and_always_one_comment(
    article, no_model, monkeypatch
):
    # The broker failed a moment ago: ringing for the rest queues nothing, so each call below
    # is one task's claim.
    monkeypatch.setattr(wakeup, "_broker_unreachable_until", float("inf"))
    comments = [
        CommentFactory(article=article, body="x" * 400, status="pending", author_name="Mina")
        for _ in range(3)
    ]
    huge = CommentFactory(article=article, body="y" * 5000, status="pending", author_name="Mina")

    assert pending_comments_score(batch_size=10, batch_chars=1000) == 2  # 808 chars; 1,212 is over
    assert list(Comment.objects.filter(status="pending")) == [comments[2], huge]
    assert pending_comments_score(batch_size=10, batch_chars=1000) == 1  # alone: it fits
    assert pending_comments_score(batch_size=10, batch_chars=1000) == 1  # too long, still goes
    assert not Comment.objects.filter(status="pending").exists()


def test_each_decision_is_one_log_line_with_nothing_private(article, spam_model, caplog):
    comment = new_comment(article)

    with caplog.at_level("INFO", logger="moderation.services"):
        pending_comments_score_task()

    comment.refresh_from_db()
    [line] = [r.getMessage() for r in caplog.records if r.name == "moderation.services"]
    assert line == (
        f"comment {comment.pk} pending → published by the service "
        f"(cause model, spam {percent(comment.spam_score)})"
    )
    assert "mina" not in line.lower()

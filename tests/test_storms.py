"""Storm mode: an article pre-moderates itself in a burst or under a campaign, says so, and
calms down by itself; a moderator's pin wins either way; every switch is recorded."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from articles.models import Article
from moderation.models import Comment, StormSwitch
from moderation.notifications import held_digest_send
from moderation.scoring import pending_comments_score
from moderation.storms import storm_pin_set, storms_calm
from tests.factories import ArticleFactory, CommentFactory


def comments(article, count: int, *, minutes_ago: float = 0, status="pending", **fields):
    made = [
        CommentFactory(article=article, status=status, body=f"My own view, number {n}.",
                       **{"ip_address": f"198.51.{n // 250}.{n % 250 + 1}"} | fields)
        for n in range(count)
    ]  # fmt: skip
    if minutes_ago:
        then = timezone.now() - timedelta(minutes=minutes_ago)
        Comment.objects.filter(pk__in=[c.pk for c in made]).update(created_at=then)
    return made


@pytest.fixture
def score_all(django_capture_on_commit_callbacks):
    """Score everything pending, and run what waits for the batch to commit (the storm's
    record), as a worker's committed batch would."""

    def score() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            pending_comments_score(batch_size=10_000, batch_chars=10_000_000)

    return score


@pytest.fixture
def article(db, spam_model, settings):
    settings.REPLYGUARD_STORM_MIN_COMMENTS = 30
    settings.REPLYGUARD_STORM_FACTOR = 5
    return ArticleFactory()


def test_a_burst_far_above_the_usual_rate_switches_the_article_to_premoderation(article, score_all):
    comments(article, 35)

    score_all()

    article.refresh_from_db()
    assert article.in_storm() and article.premoderated()
    switch = StormSwitch.objects.get()
    assert switch.on and "comments from 35 networks in 10 minutes" in switch.reason
    assert set(Comment.objects.values_list("status", flat=True)) <= {"held", "spam"}
    assert "Storm mode" in Comment.objects.filter(status="held").first().decisions.get().reason


def test_the_usual_rate_of_a_busy_article_is_no_storm(article, score_all):
    for hour in range(1, 24):  # 60 comments an hour all day: 10 every 10 minutes
        comments(article, 60, minutes_ago=hour * 60, status="published")
    comments(article, 35)

    score_all()

    article.refresh_from_db()
    assert not article.in_storm() and not StormSwitch.objects.exists()


def test_a_campaign_targeting_the_article_switches_it(article, settings, score_all):
    settings.REPLYGUARD_STORM_CAMPAIGN_COMMENTS = 3
    text = ("Would you mind if I share your blog with my facebook group? There's a lot of folks "
            "that I think would really enjoy your content, number {}.")  # fmt: skip
    for n in range(4):
        CommentFactory(article=article, status="pending", body=text.format(n),
                       author_email=f"wave{n}@mail.example", ip_address=f"192.0.2.{n}")  # fmt: skip

    score_all()

    article.refresh_from_db()
    assert article.in_storm()
    assert "a campaign: its comments from 4 networks" in StormSwitch.objects.get().reason


def test_one_address_under_many_names_starts_no_storm(article, settings, score_all):
    # Five near-identical comments from one address under five emails were a campaign, and
    # 30 minutes of pre-moderation for every reader of the article.
    text = ("Would you mind if I share your blog with my facebook group? There's a lot of folks "
            "that I think would really enjoy your content, number {}.")  # fmt: skip
    for n in range(5):
        CommentFactory(article=article, status="pending", body=text.format(n),
                       author_email=f"wave{n}@mail.example")  # fmt: skip
    comments(article, 35, ip_address="203.0.113.99")

    score_all()

    article.refresh_from_db()
    assert not article.in_storm() and not StormSwitch.objects.exists()


def test_a_campaign_published_as_legitimate_is_no_storm(article, settings, admin_user, score_all):
    from moderation.models import Campaign

    settings.REPLYGUARD_STORM_CAMPAIGN_COMMENTS = 3
    campaign = Campaign.objects.create(grouped_by="near-identical text", state="published")
    comments(article, 4, campaign=campaign)

    score_all()

    article.refresh_from_db()
    assert not article.in_storm()


def test_a_storm_calms_down_by_itself_and_says_so(article, score_all):
    comments(article, 35)
    score_all()
    Article.objects.filter(pk=article.pk).update(storm_until=timezone.now() - timedelta(seconds=1))

    assert storms_calm() == 1

    article.refresh_from_db()
    assert not article.in_storm() and article.storm_until is None
    assert list(StormSwitch.objects.order_by("id").values_list("on", flat=True)) == [True, False]


def test_a_moderators_pin_wins_either_way(article, admin_user, score_all):
    storm_pin_set(article=article, pin="off", moderator=admin_user)
    comments(article, 35)
    score_all()
    article.refresh_from_db()
    assert not article.in_storm()

    storm_pin_set(article=article, pin="on", moderator=admin_user)

    assert article.in_storm() and article.premoderated()
    assert [s.switched_by for s in StormSwitch.objects.all()] == [admin_user, admin_user]


def test_the_admin_shows_a_banner_and_pins_from_the_article_list(article, admin_client, score_all):
    admin_client.post("/admin/articles/article/",
                      {"action": "pin_storm_on", "_selected_action": [article.pk]})  # fmt: skip

    queue = admin_client.get("/admin/moderation/heldcomment/").content.decode()

    assert f"Storm mode on {article.title}" in queue
    assert "Why: Pinned on: pre-moderate by a moderator" in queue
    article.refresh_from_db()
    assert article.storm_pin == "on"
    assert StormSwitch.objects.get().switched_by.username == "admin"


def test_the_digest_says_which_followed_articles_are_in_storm(article, admin_user, score_all):
    admin_user.followed_articles.add(article)
    comments(article, 35)
    score_all()

    assert held_digest_send() == 1
    assert f"Storm mode is on for {article.title}" in mail.outbox[0].body


def test_a_worker_counts_an_articles_comments_once_per_check_interval(article, settings, score_all):
    # The storm count covers a day of the article's comments; on a busy story, counted for
    # every batch of 100, it was a third of a worker's time.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.REPLYGUARD_STORM_CHECK_SECONDS = 60
    counts = []
    for _ in range(3):
        comments(article, 5)
        with CaptureQueriesContext(connection) as queries:
            score_all()
        counts.append(sum('AS "recent"' in q["sql"] for q in queries))

    assert counts == [1, 0, 0]


def test_a_campaigns_spam_from_one_address_starts_no_storm(article, settings, score_all):
    from moderation.models import Campaign

    campaign = Campaign.objects.create(grouped_by="near-identical text", state="binned")
    comments(article, 5, status="spam", campaign=campaign, ip_address="203.0.113.50")
    comments(article, 1)

    score_all()

    article.refresh_from_db()
    assert not article.in_storm()

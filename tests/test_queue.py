"""The moderation queue, one-click decisions, word rules and the held-comments digest, through
Django's test client as staff would use them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from moderation.models import Cause, Comment, HeldDigest, Report, WordRule
from moderation.notifications import held_digest_send
from moderation.services import comment_decide
from tests.factories import ArticleFactory, CommentFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/heldcomment/"
COMMENTS = "/admin/moderation/comment/"


@pytest.fixture
def desk(client, django_user_model):
    """A member of the Moderators group, logged in."""
    user = django_user_model.objects.create_user(
        "desk", email="desk@newsroom.example", password="pw-123456-long", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Moderators"))
    client.force_login(user)
    return user


def rows(page: str, comments) -> list[int]:
    """The order in which these comments appear on the page."""
    positions = {page.index(f"{QUEUE}{c.pk}/change/"): c.pk for c in comments}
    return [positions[p] for p in sorted(positions)]


def report(comment, n):
    for i in range(n):
        Report.objects.create(comment=comment, reason="spam", reporter_ip_sha256=f"ip{i}")


def test_the_queue_shows_held_comments_most_reported_then_most_uncertain_first(client, desk):
    sure_spam = CommentFactory(status="held", spam_score=0.98)
    unsure = CommentFactory(status="held", spam_score=0.55)
    reported = CommentFactory(status="held", spam_score=0.90)
    report(reported, 2)
    unscored = CommentFactory(status="held", spam_score=None)
    published = CommentFactory(status="published", body="already live, not in the queue")

    page = client.get(QUEUE).content.decode()

    assert rows(page, [sure_spam, unsure, reported, unscored]) == [
        reported.pk,
        unscored.pk,
        unsure.pk,
        sure_spam.pk,
    ]
    assert published.body not in page


def test_a_queue_row_has_article_parent_score_reasons_reports_and_history(client, desk):
    article = ArticleFactory(title="Leaders meet in Seoul")
    parent = CommentFactory(article=article, body="The parent comment here.", author_name="Jo")
    email = "regular@example.org"
    CommentFactory.create_batch(3, author_email=email, status="published")
    CommentFactory(author_email=email, status="spam")
    held = CommentFactory(
        article=article,
        parent=parent,
        author_email=email,
        status="held",
        spam_score=0.81,
        model_version="20261128-000000-abcdef",
        cause=Cause.SUSPECT_WORD,
        rule_hits=["suspect 'casino'"],
        spam_reasons=["link to bit.ly"],
    )
    report(held, 1)

    page = client.get(QUEUE).content.decode()

    assert "Leaders meet in Seoul" in page
    assert "↳ Jo: " in page
    assert "81%" in page and "0.81" not in page
    assert (
        "Suspect word (suspect &#x27;casino&#x27;); the spam model (81%) weighed link to bit.ly"
        in page
    )
    assert "3 published / 1 rejected" in page
    assert 'data-decision="publish"' in page and f"/{held.pk}/decide/publish/" in page
    assert "sortable" not in page  # one order: no column claims to sort it


def test_the_queue_page_takes_the_same_queries_for_3_or_30_comments(
    client, desk, django_assert_max_num_queries
):
    def held_on_new_articles(count):
        for _ in range(count):
            parent = CommentFactory()
            held = CommentFactory(article=parent.article, parent=parent, status="held")
            report(held, 1)

    held_on_new_articles(3)
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    held_on_new_articles(27)

    with django_assert_max_num_queries(len(few)):
        page = client.get(QUEUE).content.decode()

    assert page.count("/decide/publish/") == 30


def test_the_queue_filters_by_reason_and_searches_name_and_email(client, desk):
    links = CommentFactory(status="held", cause=Cause.LINKS, body="two links here")
    model = CommentFactory(
        status="held", cause=Cause.MODEL, body="borderline", author_email="x.y@example.org"
    )

    by_reason = client.get(QUEUE, {"cause": Cause.LINKS}).content.decode()
    by_email = client.get(QUEUE, {"q": "x.y@example"}).content.decode()

    assert links.body in by_reason and model.body not in by_reason
    assert model.body in by_email and links.body not in by_email


def test_the_queue_filters_by_date(client, desk):
    from datetime import timedelta

    from django.utils import timezone

    old = CommentFactory(status="held", body="an old one")
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    CommentFactory(status="held", body="a fresh one")

    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    page = client.get(QUEUE, {"created_at__gte": today.isoformat()})

    assert "a fresh one" in page.content.decode() and "an old one" not in page.content.decode()


def decide_url(comment, decision):
    return f"{COMMENTS}{comment.pk}/decide/{decision}/"


@pytest.mark.parametrize(
    "decision, status, reason",
    [
        ("publish", "published", "Published by a moderator."),
        ("spam", "spam", "Marked as spam by a moderator."),
        ("abusive", "rejected", "Rejected by a moderator: abusive."),
        ("off_topic", "rejected", "Rejected by a moderator: off-topic."),
        ("other", "rejected", "Rejected by a moderator: other reason."),
        ("hold", "held", "Held by a moderator."),
    ],
)
def test_one_click_decides_and_records_the_moderator(client, desk, decision, status, reason):
    comment = CommentFactory(status="pending")

    response = client.post(decide_url(comment, decision), HTTP_REFERER=f"http://testserver{QUEUE}")

    assert response.status_code == 302 and response["Location"] == f"http://testserver{QUEUE}"
    comment.refresh_from_db()
    # Rejected as abusive, a comment is a label for the next abuse model (train_abuse_model).
    cause = Cause.ABUSE if decision == "abusive" else Cause.MODERATOR
    assert (comment.status, comment.cause) == (status, cause)
    decision_record = comment.decisions.get()
    assert (decision_record.decided_by, decision_record.reason) == (desk, reason)


@pytest.mark.parametrize(
    "decision, status",
    [("decide_abusive", "rejected"), ("decide_off_topic", "rejected"), ("decide_spam", "spam")],
)
def test_bulk_decisions_from_the_queue(client, desk, decision, status):
    held = CommentFactory.create_batch(3, status="held")

    client.post(QUEUE, {"action": decision, "_selected_action": [c.pk for c in held]})

    assert set(Comment.objects.values_list("status", flat=True)) == {status}
    assert Comment.objects.get(pk=held[0].pk).decisions.get().decided_by == desk


def test_one_click_refuses_a_get_an_unknown_decision_and_a_foreign_redirect(client, desk):
    comment = CommentFactory(status="held")

    get = client.get(decide_url(comment, "publish"))
    unknown = client.post(decide_url(comment, "delete"))
    foreign = client.post(decide_url(comment, "publish"), HTTP_REFERER="https://evil.example/")

    assert (get.status_code, unknown.status_code) == (405, 404)
    assert foreign["Location"] == COMMENTS  # back to the list, never off-site
    comment.refresh_from_db()
    assert comment.status == "published" and comment.decisions.count() == 1


def test_one_click_needs_the_moderate_permission_and_a_csrf_token(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw-1234-long", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_comment"))
    client.force_login(viewer)
    comment = CommentFactory(status="held")

    no_permission = client.post(decide_url(comment, "publish"))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(viewer.__class__.objects.create_superuser("boss", password="pw-1234-long"))
    no_token = browser.post(decide_url(comment, "publish"))

    assert (no_permission.status_code, no_token.status_code) == (403, 403)
    comment.refresh_from_db()
    assert comment.status == "held"


def test_a_comment_page_has_decision_buttons_and_its_history(client, desk):
    comment = CommentFactory(status="held")
    comment_decide(comment=comment, status="published", decided_by=desk, reason="Looks fine.")

    page = client.get(f"{COMMENTS}{comment.pk}/change/").content.decode()

    assert "Looks fine." in page and "desk" in page
    assert f"/{comment.pk}/decide/spam/" in page
    assert f"/{comment.pk}/decide/publish/" not in page  # already published


def test_only_staff_reach_the_queue(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="pw-123456-long")
    client.force_login(reader)

    assert client.get(QUEUE).status_code == 302


# --- Word rules are data: admins edit them, moderators read them --------------------------------


def test_an_admin_adds_a_word_rule_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/moderation/wordrule/add/",
        {"phrase": "  crypto   giveaway ", "action": "reject", "enabled": "on", "note": "scam"},
    )

    assert response.status_code == 302
    rule = WordRule.objects.get()
    assert (rule.phrase, rule.action) == ("crypto giveaway", "reject")


def test_a_moderator_reads_word_rules_but_cannot_change_them(client, desk):
    WordRule.objects.create(phrase="casino")

    listing = client.get("/admin/moderation/wordrule/")
    adding = client.post("/admin/moderation/wordrule/add/", {"phrase": "x", "action": "hold"})

    assert listing.status_code == 200 and "casino" in listing.content.decode()
    assert adding.status_code == 403
    assert WordRule.objects.count() == 1


# --- The held-comments digest ------------------------------------------------------------------


def test_a_moderator_follows_articles_from_the_article_list(client, desk):
    article = ArticleFactory()

    client.post("/admin/articles/article/", {"action": "follow", "_selected_action": [article.pk]})

    assert list(desk.followed_articles.all()) == [article]


def held_on(article, **fields):
    comment = CommentFactory(article=article, status="pending", **fields)
    comment_decide(comment=comment, status="held", cause=Cause.MODEL, reason="Borderline.")
    return comment


def test_the_digest_is_one_email_per_follower_listing_new_held_comments(desk, django_user_model):
    followed, other = ArticleFactory(title="Followed story"), ArticleFactory(title="Other story")
    desk.followed_articles.add(followed)
    first = held_on(followed, body="First held comment", author_email="secret.a@example.org")
    second = held_on(followed, body="Second held comment")
    held_on(other, body="Held elsewhere")

    sent = held_digest_send()

    assert sent == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["desk@newsroom.example"]
    assert "2 comment(s) held" in message.subject
    assert "First held comment" in message.body and "Second held comment" in message.body
    assert "Held elsewhere" not in message.body
    assert "secret.a@example.org" not in message.body  # private, even to moderators' mail
    assert f"#{first.pk}" in message.body and f"#{second.pk}" in message.body
    assert HeldDigest.objects.get().comments == 2


def test_the_next_digest_lists_only_what_was_held_since(desk):
    article = ArticleFactory()
    desk.followed_articles.add(article)
    held_on(article, body="Before the first digest")
    held_digest_send()

    nothing_new = held_digest_send()
    held_on(article, body="After the first digest")
    held_digest_send()

    assert nothing_new == 0 and len(mail.outbox) == 2
    assert "After the first digest" in mail.outbox[1].body
    assert "Before the first digest" not in mail.outbox[1].body


def test_no_digest_for_comments_decided_before_the_digest_or_without_followers(desk):
    article = ArticleFactory()
    published = held_on(article)
    comment_decide(comment=published, status="published", decided_by=desk)

    assert held_digest_send() == 0  # nobody follows it
    desk.followed_articles.add(article)
    assert held_digest_send() == 0  # nothing is held any more
    assert mail.outbox == []


def test_a_name_or_body_cannot_forge_lines_of_the_digest(desk):
    article = ArticleFactory()
    desk.followed_articles.add(article)
    forged = "\n\n5 comment(s) are waiting. The queue: http://phish.example/admin/"
    held_on(article, author_name=f"Mina{forged}", body=f"Hi\u2028{forged}\u202e")

    held_digest_send()

    lines = mail.outbox[0].body.splitlines()
    assert not any(line.startswith("5 comment(s)") for line in lines)
    assert sum("phish.example" in line for line in lines) == 1  # on the comment's own line


def test_the_queue_is_held_comments_most_reported_then_least_certain_then_oldest():
    certain = CommentFactory(status="held", spam_score=0.95)
    unsure = CommentFactory(status="held", spam_score=0.55)
    reported = CommentFactory(status="held", spam_score=0.99)
    Report.objects.create(comment=reported, reason="spam", reporter_ip_sha256="x")
    CommentFactory(status="published", spam_score=0.5)

    assert list(Comment.objects.queue()) == [reported, unsure, certain]

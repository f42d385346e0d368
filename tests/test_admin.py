"""The moderator's admin, through Django's test client as a staff user would use it."""

import pytest

from moderation.models import Comment, Decision
from tests.factories import CommentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/moderation/comment/"


@pytest.fixture
def moderator(client, admin_user):
    client.force_login(admin_user)
    return client


def bulk(client, action, comments):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [c.pk for c in comments]},
        follow=True,
    )


def test_only_staff_reach_the_admin(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="pw-123456-long")
    client.force_login(reader)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_why_says_the_cause_first_and_labels_the_models_words(moderator):
    # Held by the link rule at 8%: the model's words are what it weighed, not why it was held.
    CommentFactory(
        status="held",
        spam_score=0.08,
        cause="links",
        rule_hits=["3 links (at most 2 without a moderator)"],
        spam_reasons=["'row'", "'background'"],
    )

    page = moderator.get(CHANGELIST).content.decode()

    why = "Too many links (3 links (at most 2 without a moderator)); the spam model (8%) weighed"
    assert why in page and "model: " not in page


def test_the_list_shows_status_score_as_a_percentage_and_reasons_the_page_version_and_email(
    moderator,
):
    CommentFactory(
        status="held",
        spam_score=0.73,
        model_version="20261128-a1",
        author_email="m@ex.org",
        spam_reasons=["link to bit.ly", "word 'subscribe'"],
    )

    page = moderator.get(CHANGELIST).content.decode()

    assert "73%" in page and "0.73" not in page and "Held for a moderator" in page
    assert "the spam model (73%) weighed link to bit.ly, word &#x27;subscribe&#x27;" in page
    change_page = moderator.get(f"{CHANGELIST}{Comment.objects.get().pk}/change/")
    assert "m@ex.org" in change_page.content.decode()
    assert "20261128-a1" in change_page.content.decode() and "73%" in change_page.content.decode()


def test_the_list_filters_by_status_and_searches_text(moderator):
    CommentFactory(status="held", body="about the summit dinner")
    CommentFactory(status="published", body="about the trade dispute")

    held = moderator.get(CHANGELIST, {"status__exact": "held"}).content.decode()
    found = moderator.get(CHANGELIST, {"q": "dispute"}).content.decode()

    assert "summit dinner" in held and "trade dispute" not in held
    assert "trade dispute" in found and "summit dinner" not in found


@pytest.mark.parametrize(
    "action, status",
    [
        ("decide_publish", "published"),
        ("decide_hold", "held"),
        ("decide_spam", "spam"),
        ("decide_abusive", "rejected"),
    ],
)
def test_bulk_actions_decide_and_leave_an_audit_record(moderator, admin_user, action, status):
    comments = [CommentFactory(status="pending"), CommentFactory(status="pending")]

    response = bulk(moderator, action, comments)

    assert response.status_code == 200
    assert set(Comment.objects.values_list("status", flat=True)) == {status}
    decisions = Decision.objects.all()
    assert len(decisions) == 2
    assert {(d.decided_by, d.from_status, d.to_status) for d in decisions} == {
        (admin_user, "pending", status)
    }


def test_a_bulk_action_skips_comments_already_in_that_status(moderator):
    comments = [CommentFactory(status="published"), CommentFactory(status="held")]

    response = bulk(moderator, "decide_publish", comments)

    assert Decision.objects.count() == 1
    assert "Publish (not spam): 1 of 2 comment(s) changed" in response.content.decode()


def test_a_comment_page_shows_its_decision_history(moderator, admin_user):
    comment = CommentFactory(status="held")
    bulk(moderator, "decide_publish", [comment])
    bulk(moderator, "decide_abusive", [comment])

    page = moderator.get(f"{CHANGELIST}{comment.pk}/change/").content.decode()

    assert page.count(admin_user.username) >= 2
    assert "rejected" in page


def test_the_admin_cannot_edit_status_directly(moderator):
    comment = CommentFactory(status="held")

    moderator.post(
        f"{CHANGELIST}{comment.pk}/change/",
        {
            "body": comment.body,
            "author_name": comment.author_name,
            "author_email": comment.author_email,
            "author_url": "",
            "status": "published",
            "decisions-TOTAL_FORMS": 0,
            "decisions-INITIAL_FORMS": 0,
        },
    )

    comment.refresh_from_db()
    assert comment.status == "held"


def test_a_moderators_edit_or_deletion_shows_in_the_public_thread_at_once(moderator, client):
    comment = CommentFactory()
    other = CommentFactory(article=comment.article)
    url = f"/api/articles/{comment.article.slug}/comments/"
    before = client.get(url)

    edited = moderator.post(
        f"{CHANGELIST}{comment.pk}/change/",
        {
            "body": "Edited by a moderator.",
            "author_name": comment.author_name,
            "author_email": comment.author_email,
            "author_url": "",
            **{
                f"{inline}-{form_count}": 0
                for inline in ("decisions", "reports")
                for form_count in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },
    )
    after_edit = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    moderator.post(f"{CHANGELIST}{other.pk}/delete/", {"post": "yes"})
    after_delete = client.get(url)

    assert edited.status_code == 302
    assert after_edit.json()["results"][0]["body"] == "Edited by a moderator."
    assert [c["id"] for c in after_delete.json()["results"]] == [comment.pk]


def test_admin_posts_without_a_csrf_token_are_refused(admin_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    comment = CommentFactory(status="held")

    response = browser.post(
        CHANGELIST, {"action": "decide_publish", "_selected_action": [comment.pk]}
    )

    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.status == "held"


@pytest.fixture
def desk_moderator(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("desk", password="pw-123456-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    client.force_login(user)
    return user


def test_a_moderator_decides_comments_and_is_recorded_as_the_decider(client, desk_moderator):
    comment = CommentFactory(status="held")

    page = client.get(CHANGELIST).content.decode()
    bulk(client, "decide_publish", [comment])

    assert "decide_publish" in page
    assert "erase_authors" not in page and "export_authors_data" not in page
    comment.refresh_from_db()
    assert comment.status == "published"
    assert comment.decisions.get().decided_by == desk_moderator


def test_a_moderator_cannot_change_article_policy_or_comment_text(client, desk_moderator):
    from tests.factories import ArticleFactory

    article = ArticleFactory()
    comment = CommentFactory(status="held", body="original")

    article_edit = client.post(
        f"/admin/articles/article/{article.pk}/change/", {"comments_open": ""}
    )
    comment_edit = client.post(f"{CHANGELIST}{comment.pk}/change/", {"body": "edited"})

    assert article_edit.status_code == 403
    assert comment_edit.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "original"


def test_staff_without_the_moderate_permission_get_no_decision_actions(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw-1234-long", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_comment"))
    client.force_login(viewer)
    comment = CommentFactory(status="held")

    page = client.get(CHANGELIST).content.decode()
    bulk(client, "decide_publish", [comment])

    assert "decide_publish" not in page
    comment.refresh_from_db()
    assert comment.status == "held"


def test_create_moderator_makes_a_login_that_decides_but_cannot_change_policy(client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_moderator", "mina", "--email", "mina@example.org", stdout=out)
    password = out.getvalue().split("Password: ")[1].strip()
    held = CommentFactory(status="held")

    assert client.login(username="mina", password=password)
    assert client.post(f"{CHANGELIST}{held.pk}/decide/publish/").status_code == 302
    held.refresh_from_db()
    assert held.status == "published"
    assert client.get("/admin/moderation/wordrule/add/").status_code == 403
    assert client.get(f"/admin/articles/article/{held.article.pk}/change/").status_code == 200
    assert (
        b'name="_save"'
        not in client.get(f"/admin/articles/article/{held.article.pk}/change/").content
    )


def test_deleting_is_not_among_the_moderation_actions(moderator):
    CommentFactory(status="held")

    page = moderator.get(CHANGELIST).content.decode()

    assert 'value="decide_spam"' in page and 'value="delete_selected"' not in page


def test_a_comments_decisions_read_newest_first_and_say_who_decided(moderator, admin_user):
    from moderation.services import comment_decide
    from moderation.wording import who_decided

    comment = CommentFactory(status="pending", model_version="20261129-120000-abc")
    comment_decide(comment=comment, status="held", reason="Spam probability 0.80 ≥ 0.70.")
    comment_decide(comment=comment, status="published", decided_by=admin_user, reason="By hand.")
    Decision.objects.filter(decided_by=None).update(model_version="20261129-120000-abc")

    page = moderator.get(f"{CHANGELIST}{comment.pk}/change/").content.decode()

    assert page.index("By hand.") < page.index("Spam probability 0.80")  # newest first
    assert page.index(">admin<") < page.index("model 20261129-120000-abc")
    rule = Decision(reason="Rule: banned 'pills'.", model_version="x")
    assert who_decided(rule) == "rule"


def test_the_ip_address_is_labelled_as_people_write_it(moderator):
    comment = CommentFactory(ip_address="203.0.113.9")

    page = moderator.get(f"{CHANGELIST}{comment.pk}/change/").content.decode()

    assert "IP address" in page and "Ip address" not in page

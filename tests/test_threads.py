"""Every way a comment can change what readers see moves its article's thread version, so no
reader is served a stale thread behind a 304 or from the server's page cache."""

from io import StringIO

import pytest
from django.core.management import call_command

from moderation.models import Comment
from moderation.tasks import pending_comments_score_task
from tests.factories import CommentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/moderation/comment/"
EMPTY_INLINES = {
    f"{inline}-{count}": 0
    for inline in ("decisions", "reports")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def scoring_publishes(comment, moderator, api_client):
    Comment.objects.filter(pk=comment.pk).update(status="pending")
    pending_comments_score_task()  # no model in these tests: held ...
    moderator.post(f"{CHANGELIST}{comment.pk}/decide/publish/")  # ... and published by a person


def one_click_spam(comment, moderator, api_client):
    moderator.post(f"{CHANGELIST}{comment.pk}/decide/spam/")


def bulk_hold(comment, moderator, api_client):
    moderator.post(CHANGELIST, {"action": "decide_hold", "_selected_action": [comment.pk]})


def edit_in_the_admin(comment, moderator, api_client):
    moderator.post(
        f"{CHANGELIST}{comment.pk}/change/",
        {"body": "Edited.", "author_name": "Mina", "author_email": "m@example.org"}
        | {"author_url": ""}
        | EMPTY_INLINES,
    )


def delete_in_the_admin(comment, moderator, api_client):
    moderator.post(f"{CHANGELIST}{comment.pk}/delete/", {"post": "yes"})


def readers_report_it(comment, moderator, api_client):
    for n in range(3):
        api_client.post(
            f"/api/comments/{comment.pk}/report/",
            {"reason": "abusive"},
            format="json",
            REMOTE_ADDR=f"192.0.2.{n}",
        )


def erase_the_author(comment, moderator, api_client):
    call_command("erase_author", comment.author_email, stdout=StringIO())


def erase_the_author_in_the_admin(comment, moderator, api_client):
    moderator.post(CHANGELIST, {"action": "erase_authors", "_selected_action": [comment.pk]})


WRITES = [
    scoring_publishes,
    one_click_spam,
    bulk_hold,
    edit_in_the_admin,
    delete_in_the_admin,
    readers_report_it,
    erase_the_author,
    erase_the_author_in_the_admin,
]


@pytest.mark.parametrize("shared_cache", [False, True], ids=["cache-per-process", "shared-cache"])
@pytest.mark.parametrize("write", WRITES, ids=[w.__name__ for w in WRITES])
def test_every_write_readers_would_see_moves_the_thread_version(
    write, shared_cache, client, admin_user, api_client, no_model, settings
):
    # With a shared cache the version itself is read from it (moderation.cache).
    settings.REPLYGUARD_CACHE_SHARED = shared_cache
    settings.REPLYGUARD_REPORTS_TO_HOLD = 3
    comment = CommentFactory(author_name="Mina Park", body="What readers see first.")
    url = f"/api/articles/{comment.article.slug}/comments/"
    before = api_client.get(url)
    client.force_login(admin_user)

    write(comment, client, api_client)

    after = api_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200, "the thread changed but its ETag did not"
    assert after.json() != before.json()

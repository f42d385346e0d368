"""A comment's receipt lets its author, and only its author, see what became of it."""

import pytest

from moderation.services import comment_decide
from tests.factories import CommentFactory
from tests.test_api import PRIVATE_EMAIL, post_comment, valid_comment

pytestmark = pytest.mark.django_db


def authors_view(api_client, comment_id, receipt):
    return api_client.get(f"/api/comments/{comment_id}/", {"receipt": receipt})


@pytest.mark.parametrize(
    "decision, told",
    [
        (None, "awaiting_moderation"),
        ("held", "awaiting_moderation"),
        ("published", "published"),
        ("spam", "not_published"),
        ("rejected", "not_published"),
    ],
)
def test_the_holder_of_the_receipt_sees_what_became_of_the_comment(
    api_client, article, decision, told
):
    posted = post_comment(api_client, article).json()
    if decision:
        comment = CommentFactory._meta.model.objects.get(pk=posted["id"])
        comment_decide(comment=comment, status=decision, reason="Decided.")

    answer = authors_view(api_client, posted["id"], posted["receipt"])

    assert answer.status_code == 200
    assert answer.json()["status"] == told
    assert answer.json()["body"] == posted["body"]
    assert set(answer.json()) == {
        "id", "status", "parent", "author_name", "author_url", "body", "body_html", "created_at"
    }  # fmt: skip
    assert answer["Cache-Control"] == "no-store"


def test_a_wrong_missing_or_borrowed_receipt_is_a_404(api_client, article):
    mine = post_comment(api_client, article).json()
    other = post_comment(api_client, article, body="Another point.", author_email="o@example.org")

    wrong = authors_view(api_client, mine["id"], "0" * 32)
    missing = api_client.get(f"/api/comments/{mine['id']}/")
    borrowed = authors_view(api_client, mine["id"], other.json()["receipt"])
    no_comment = authors_view(api_client, 987654, mine["receipt"])

    assert [r.status_code for r in (wrong, missing, borrowed, no_comment)] == [404] * 4
    assert wrong.json() == no_comment.json()  # a wrong receipt tells no more than no comment


def test_a_receipt_does_not_tell_whether_a_guessed_email_wrote_the_same_text(
    api_client, article, settings
):
    """A repeat of an email's recent text (from another address) is filed as spam at POST
    time: its receipt must read like any comment's, or it would confirm the guessed email."""
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    text = "The words of a real reader."
    post_comment(api_client, article, body=text)

    def guess(email, address):
        fields = valid_comment(body=text, author_email=email)
        url = f"/api/articles/{article.slug}/comments/"
        return api_client.post(url, fields, format="json", REMOTE_ADDR=address).json()

    right, wrong = guess(PRIVATE_EMAIL, "198.51.100.77"), guess("no@example.org", "198.51.100.78")

    told = [
        authors_view(api_client, p["id"], p["receipt"]).json()["status"] for p in (right, wrong)
    ]
    assert told == ["awaiting_moderation", "awaiting_moderation"]

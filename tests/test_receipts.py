"""A comment's receipt lets its author, and only its author, see what became of it."""

import pytest

from moderation.services import comment_decide
from tests.factories import CommentFactory
from tests.test_api import post_comment

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

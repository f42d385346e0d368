"""The widget runs on the newsroom's pages, another origin: the public API answers CORS for the
listed origins only, and never for the admin."""

import pytest

pytestmark = pytest.mark.django_db

NEWSROOM = "https://news.example.com"


@pytest.fixture(autouse=True)
def listed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [NEWSROOM]


def preflight(client, path, origin):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


def test_a_listed_origin_may_post_comments_and_read_threads(client, article):
    comments = f"/api/articles/{article.slug}/comments/"

    allowed = preflight(client, comments, NEWSROOM)
    read = client.get(comments, HTTP_ORIGIN=NEWSROOM)

    assert allowed["Access-Control-Allow-Origin"] == NEWSROOM
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert read["Access-Control-Allow-Origin"] == NEWSROOM
    assert {"etag", "retry-after"} <= set(read["Access-Control-Expose-Headers"].lower().split(", "))
    assert "Access-Control-Allow-Credentials" not in read  # no cookies, ever


@pytest.mark.parametrize(
    "origin, path",
    [
        ("https://evil.example", "/api/articles/{slug}/comments/"),
        ("https://news.example.com.evil.example", "/api/articles/{slug}/comments/"),
        # No browser sends these for the listed origin: no answer echoes them.
        (NEWSROOM + "/", "/api/articles/{slug}/comments/"),
        (NEWSROOM.upper(), "/api/articles/{slug}/comments/"),
        (NEWSROOM, "/admin/login/"),
        (NEWSROOM, "/api/schema/"),
    ],
    ids=["unlisted", "lookalike", "trailing-slash", "upper-case", "admin", "not-the-readers-api"],
)
def test_no_cors_for_another_origin_or_beyond_the_readers_api(client, article, origin, path):
    response = preflight(client, path.format(slug=article.slug), origin)

    assert "Access-Control-Allow-Origin" not in response

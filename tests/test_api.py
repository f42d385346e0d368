"""The public HTTP contract, through the API as the site's frontend calls it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path

from config import urls as project_urls
from moderation.models import Comment
from moderation.services import comment_decide
from tests.factories import ArticleFactory, CommentFactory

pytestmark = pytest.mark.django_db

PRIVATE_EMAIL = "private.reader@example.org"
PRIVATE_IP = "198.51.100.23"
PRIVATE_AGENT = "SecretBrowser/9.9"


def comments_url(article):
    return f"/api/articles/{article.slug}/comments/"


def valid_comment(**overrides):
    return {
        "author_name": "Mina Park",
        "author_email": PRIVATE_EMAIL,
        "author_url": "https://mina.example.org/",
        "body": "The 60th anniversary could really be a turning point.",
    } | overrides


def post_comment(api_client, article, **overrides):
    return api_client.post(
        comments_url(article),
        valid_comment(**overrides),
        format="json",
        REMOTE_ADDR=PRIVATE_IP,
        HTTP_USER_AGENT=PRIVATE_AGENT,
    )


def assert_nothing_private(response):
    for secret in (PRIVATE_EMAIL, PRIVATE_IP, PRIVATE_AGENT):
        assert secret.encode() not in response.content


def test_post_answers_202_pending_and_saves_the_comment(api_client, article):
    response = post_comment(api_client, article)

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    comment = Comment.objects.get(pk=response.json()["id"])
    assert comment.status == Comment.Status.PENDING
    assert comment.author_email == PRIVATE_EMAIL
    assert comment.ip_address == PRIVATE_IP
    assert comment.user_agent == PRIVATE_AGENT
    assert_nothing_private(response)


def test_post_never_publishes_synchronously(api_client, article):
    post_comment(api_client, article)

    listing = api_client.get(comments_url(article))

    assert listing.json()["count"] == 0


def test_extra_fields_cannot_set_status_score_or_article(api_client, article):
    other = ArticleFactory()
    extra = {"status": "published", "spam_score": 0.0, "article": other.pk, "id": 999}
    response = api_client.post(comments_url(article), valid_comment(**extra), format="json")

    comment = Comment.objects.get(pk=response.json()["id"])
    assert (comment.status, comment.spam_score, comment.article) == ("pending", None, article)
    assert comment.pk != 999


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"author_name": None}, "author_name"),
        ({"author_name": ""}, "author_name"),
        ({"author_name": "n" * 101}, "author_name"),
        ({"author_email": None}, "author_email"),
        ({"author_email": "not-an-email"}, "author_email"),
        ({"author_email": "a" * 250 + "@x.org"}, "author_email"),
        ({"author_url": "javascript:alert(1)"}, "author_url"),
        ({"author_url": "ftp://files.example.org/"}, "author_url"),
        ({"author_url": "https://example.org/" + "a" * 200}, "author_url"),
        ({"body": None}, "body"),
        ({"body": ""}, "body"),
        ({"body": "   \n\t "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "null byte \x00 here"}, "body"),
        ({"parent": "abc"}, "parent"),
        ({"parent": 0}, "parent"),
    ],
)
def test_invalid_field_gets_400_naming_it(api_client, article, overrides, field):
    body = {k: v for k, v in valid_comment(**overrides).items() if v is not None}

    response = api_client.post(comments_url(article), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Comment.objects.exists()


def test_invalid_email_error_does_not_echo_the_email(api_client, article):
    response = post_comment(api_client, article, author_email="secret-but-broken@@example.org")

    assert response.status_code == 400
    assert b"secret-but-broken" not in response.content


def test_an_email_valid_only_until_lowercased_gets_400_naming_it(api_client, article):
    # 'İ' lowercases to 'i' plus a combining dot: the address the service would store is invalid
    response = post_comment(api_client, article, author_email="a@" + "\u0130" * 32 + ".com")

    assert response.status_code == 400
    assert list(response.json()) == ["author_email"]
    assert not Comment.objects.exists()


def test_an_email_is_stored_trimmed_and_in_lower_case(api_client, article):
    response = post_comment(api_client, article, author_email="  Mina.Park@Example.ORG ")

    assert response.status_code == 202
    assert Comment.objects.get().author_email == "mina.park@example.org"


def test_body_length_limit_is_a_setting(api_client, article, settings):
    settings.REPLYGUARD_BODY_MAX_LENGTH = 20

    too_long = post_comment(api_client, article, body="x" * 21)
    fits = post_comment(api_client, article, body="x" * 20)

    assert too_long.status_code == 400
    assert "20" in too_long.json()["body"][0]
    assert fits.status_code == 202


@pytest.mark.parametrize("parent_status", ["pending", "held", "spam", "rejected"])
def test_reply_to_an_unpublished_comment_is_refused(api_client, article, parent_status):
    parent = CommentFactory(article=article, status=parent_status)

    response = post_comment(api_client, article, parent=parent.pk)

    assert response.status_code == 400
    assert list(response.json()) == ["parent"]


def test_reply_to_a_comment_of_another_article_is_refused(api_client, article):
    elsewhere = CommentFactory(article=ArticleFactory())

    response = post_comment(api_client, article, parent=elsewhere.pk)

    assert response.status_code == 400
    assert list(response.json()) == ["parent"]


def test_reply_to_a_missing_comment_is_refused(api_client, article):
    response = post_comment(api_client, article, parent=424242)

    assert response.status_code == 400
    assert list(response.json()) == ["parent"]


def test_closed_article_refuses_comments_with_403(api_client):
    closed = ArticleFactory(comments_open=False)

    response = post_comment(api_client, closed)

    assert response.status_code == 403
    assert list(response.json()) == ["article"]
    assert not Comment.objects.exists()


def test_a_post_takes_its_article_from_the_cache(api_client, article):
    post_comment(api_client, article)

    with CaptureQueriesContext(connection) as queries:
        second = post_comment(api_client, article, body="A second thought on the summit.")

    assert second.status_code == 202
    assert not [q["sql"] for q in queries if "articles_article" in q["sql"]]


def test_closing_comments_in_the_admin_refuses_the_very_next_post(
    api_client, article, admin_client
):
    assert post_comment(api_client, article).status_code == 202  # the article is now cached
    form = {
        "title": article.title, "slug": article.slug, "section": article.section,
        "byline": article.byline, "dateline": article.dateline, "body": article.body,
        "published_at_0": article.published_at.date(), "published_at_1": "00:00:00",
        "moderation_mode": article.moderation_mode, "storm_pin": "",
    }  # fmt: skip
    saved = admin_client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert saved.status_code == 302, saved.content[:2000]

    refused = post_comment(api_client, article, body="One more thought after closing.")

    assert refused.status_code == 403


def test_unknown_article_gets_404_naming_the_article(api_client):
    post = api_client.post("/api/articles/no-such-story/comments/", valid_comment(), format="json")
    get = api_client.get("/api/articles/no-such-story/comments/")

    assert (post.status_code, get.status_code) == (404, 404)
    assert list(post.json()) == list(get.json()) == ["article"]


def test_form_posts_get_415_not_a_500(api_client, article):
    response = api_client.post(comments_url(article), valid_comment())  # multipart

    assert response.status_code == 415


def test_malformed_json_gets_400(api_client, article):
    response = api_client.post(
        comments_url(article), b'{"body": "unterminated', content_type="application/json"
    )

    assert response.status_code == 400


def test_a_json_list_instead_of_an_object_gets_400(api_client, article):
    response = api_client.post(comments_url(article), [valid_comment()], format="json")

    assert response.status_code == 400


def test_only_published_comments_are_listed(api_client, article):
    shown = CommentFactory(article=article, status="published")
    for status in ("pending", "held", "spam", "rejected"):
        CommentFactory(article=article, status=status)

    listing = api_client.get(comments_url(article)).json()

    assert [c["id"] for c in listing["results"]] == [shown.pk]


def test_replies_are_nested_under_their_published_parent(api_client, article):
    top = CommentFactory(article=article)
    reply = CommentFactory(article=article, parent=top)
    reply_to_reply = CommentFactory(article=article, parent=reply)
    CommentFactory(article=article, parent=top, status="held")

    [thread] = api_client.get(comments_url(article)).json()["results"]

    assert thread["id"] == top.pk
    assert [r["id"] for r in thread["replies"]] == [reply.pk]
    assert [r["id"] for r in thread["replies"][0]["replies"]] == [reply_to_reply.pk]
    assert thread["replies"][0]["parent"] == top.pk


def test_replies_under_a_hidden_comment_are_hidden_too(api_client, article):
    top = CommentFactory(article=article)
    hidden = CommentFactory(article=article, parent=top, status="rejected")
    CommentFactory(article=article, parent=hidden)

    [thread] = api_client.get(comments_url(article)).json()["results"]

    assert thread["replies"] == []


def test_threads_are_oldest_first_by_default_and_newest_first_on_request(api_client, article):
    first, second = CommentFactory(article=article), CommentFactory(article=article)

    default = api_client.get(comments_url(article)).json()["results"]
    newest = api_client.get(comments_url(article), {"order": "newest"}).json()["results"]

    assert [c["id"] for c in default] == [first.pk, second.pk]
    assert [c["id"] for c in newest] == [second.pk, first.pk]


def test_unknown_order_gets_400_naming_it(api_client, article):
    response = api_client.get(comments_url(article), {"order": "loudest"})

    assert response.status_code == 400
    assert list(response.json()) == ["order"]


def test_threads_are_paginated_by_a_setting(api_client, article, settings):
    settings.REPLYGUARD_PAGE_SIZE = 2
    CommentFactory.create_batch(5, article=article)

    page1 = api_client.get(comments_url(article)).json()
    page3 = api_client.get(comments_url(article), {"page": 3}).json()

    assert page1["count"] == 5
    assert len(page1["results"]) == 2
    assert page1["next"] is not None
    assert len(page3["results"]) == 1


def test_a_page_of_threads_takes_a_constant_number_of_queries(
    api_client, article, django_assert_max_num_queries
):
    for _ in range(10):
        top = CommentFactory(article=article)
        CommentFactory.create_batch(3, article=article, parent=top)

    with django_assert_max_num_queries(5):  # article, count, threads, their replies, all comments
        response = api_client.get(comments_url(article))

    assert len(response.json()["results"]) == 10


def test_with_a_shared_cache_a_current_copy_or_a_cached_page_takes_no_query(
    api_client, article, settings, django_assert_num_queries
):
    settings.REPLYGUARD_CACHE_SHARED = True  # Redis in production; here one process's cache
    CommentFactory(article=article)
    first = api_client.get(comments_url(article))

    with django_assert_num_queries(0):
        current = api_client.get(comments_url(article), HTTP_IF_NONE_MATCH=first["ETag"])
        cached = api_client.get(comments_url(article))

    assert (current.status_code, cached.status_code) == (304, 200)
    assert cached.content == first.content


def thread_ids(response) -> list[int]:
    return [c["id"] for c in response.json()["results"]]


def test_a_reader_with_a_current_copy_gets_304_from_one_query(
    api_client, article, django_assert_max_num_queries
):
    CommentFactory(article=article)
    first = api_client.get(comments_url(article))

    with django_assert_max_num_queries(1):  # the article's thread version
        again = api_client.get(comments_url(article), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert "no-cache" in first["Cache-Control"]


def test_a_cached_page_is_served_without_rendering_it_again(
    api_client, article, django_assert_max_num_queries
):
    CommentFactory.create_batch(3, article=article)
    first = api_client.get(comments_url(article))

    with django_assert_max_num_queries(1):
        again = api_client.get(comments_url(article))

    assert again.content == first.content


def test_a_decision_that_publishes_shows_at_once_despite_caches(api_client, article):
    shown = CommentFactory(article=article)
    waiting = CommentFactory(article=article, status="held")
    first = api_client.get(comments_url(article))

    comment_decide(comment=waiting, status="published", reason="Fine.")

    again = api_client.get(comments_url(article), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert thread_ids(again) == [shown.pk, waiting.pk]
    assert again["ETag"] != first["ETag"]


def test_a_decision_that_hides_a_comment_hides_it_at_once(api_client, article):
    kept, hidden = CommentFactory(article=article), CommentFactory(article=article)
    api_client.get(comments_url(article))

    comment_decide(comment=hidden, status="spam", reason="Spam after all.")

    assert thread_ids(api_client.get(comments_url(article))) == [kept.pk]


def test_a_decision_readers_cannot_see_keeps_their_copies_current(api_client, article):
    CommentFactory(article=article)
    held = CommentFactory(article=article, status="pending")
    first = api_client.get(comments_url(article))

    comment_decide(comment=held, status="held", reason="Unsure.")

    again = api_client.get(comments_url(article), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_each_page_and_order_is_cached_apart(api_client, article, settings):
    settings.REPLYGUARD_PAGE_SIZE = 1
    first, second = CommentFactory(article=article), CommentFactory(article=article)

    page1 = api_client.get(comments_url(article))
    page2 = api_client.get(comments_url(article), {"page": 2})
    newest = api_client.get(comments_url(article), {"order": "newest"})

    assert [thread_ids(page1), thread_ids(page2), thread_ids(newest)] == [
        [first.pk],
        [second.pk],
        [second.pk],
    ]


def test_parameters_the_page_does_not_read_make_no_new_cache_entry(
    api_client, article, django_assert_max_num_queries
):
    CommentFactory.create_batch(3, article=article)
    first = api_client.get(comments_url(article), {"cb": 1})

    with django_assert_max_num_queries(30):  # one query each: served from the cache
        busted = [api_client.get(comments_url(article), {"cb": n}) for n in range(2, 32)]

    assert {response.content for response in busted} == {first.content}


def test_no_private_field_in_any_public_response(api_client, article):
    top = CommentFactory(
        article=article,
        author_email=PRIVATE_EMAIL,
        ip_address=PRIVATE_IP,
        user_agent=PRIVATE_AGENT,
    )
    CommentFactory(
        article=article,
        parent=top,
        author_email=PRIVATE_EMAIL,
        ip_address=PRIVATE_IP,
        user_agent=PRIVATE_AGENT,
    )

    responses = [
        post_comment(api_client, article),
        post_comment(api_client, article, author_url="not a url"),
        post_comment(api_client, article, parent=999999),
        api_client.get(comments_url(article)),
        api_client.get("/api/articles/"),
        api_client.get(f"/api/articles/{article.slug}/"),
    ]

    assert responses[3].json()["results"][0]["replies"]  # the thread really was listed
    for response in responses:
        assert_nothing_private(response)
        for field in (b"author_email", b"ip_address", b"user_agent"):
            assert field not in response.content


def test_html_in_a_body_is_stored_as_typed_and_escaped_in_body_html(api_client, article):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>\n\nSecond paragraph'
    comment = CommentFactory(article=article, body=attack)

    [listed] = api_client.get(comments_url(article)).json()["results"]

    assert listed["id"] == comment.pk
    assert listed["body"] == attack
    assert "<script" not in listed["body_html"]
    assert "<img" not in listed["body_html"]
    assert "&lt;script&gt;" in listed["body_html"]
    assert listed["body_html"].count("<p>") == 2


def test_articles_are_listed_and_shown_by_slug(api_client, article):
    listing = api_client.get("/api/articles/").json()
    detail = api_client.get(f"/api/articles/{article.slug}/").json()

    assert [a["slug"] for a in listing["results"]] == [article.slug]
    assert "body" not in listing["results"][0]
    assert detail["body"] == article.body
    assert detail["comments_open"] is True


def test_replies_nest_only_as_deep_as_the_setting_allows(api_client, article, settings):
    settings.REPLYGUARD_MAX_REPLY_DEPTH = 2
    top = CommentFactory(article=article)
    reply = CommentFactory(article=article, parent=top)
    deepest = CommentFactory(article=article, parent=reply)

    allowed = post_comment(api_client, article, parent=reply.pk)
    too_deep = post_comment(api_client, article, parent=deepest.pk)

    assert (reply.depth, deepest.depth) == (1, 2)
    assert allowed.status_code == 202
    assert Comment.objects.get(pk=allowed.json()["id"]).depth == 2
    assert too_deep.status_code == 400
    assert list(too_deep.json()) == ["parent"]
    assert "2 levels" in too_deep.json()["parent"][0]


def test_comment_posts_are_rate_limited_per_ip_with_retry_after(api_client, article, settings):
    settings.REPLYGUARD_RATE_COMMENT_POST = "2/minute"

    first, second, third = (post_comment(api_client, article, body=f"Take {n}") for n in range(3))
    other_reader = api_client.post(
        comments_url(article), valid_comment(), format="json", REMOTE_ADDR="192.0.2.99"
    )

    assert (first.status_code, second.status_code, third.status_code) == (202, 202, 429)
    assert 0 < int(third["Retry-After"]) <= 60
    assert other_reader.status_code == 202
    assert api_client.get(comments_url(article)).status_code == 200  # reading is never limited
    assert Comment.objects.count() == 3


def test_an_oversized_request_gets_413_before_it_is_read(api_client, article, settings):
    settings.REPLYGUARD_MAX_REQUEST_BYTES = 1000

    response = post_comment(api_client, article, body="x" * 2000)

    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert not Comment.objects.exists()


def test_a_garbled_content_length_gets_400(api_client, article):
    response = api_client.post(
        comments_url(article), b"{}", content_type="application/json", CONTENT_LENGTH="lots"
    )

    assert response.status_code == 400


def test_the_public_api_needs_no_cookie_and_sets_none(api_client, article):
    from rest_framework.test import APIClient

    strict = APIClient(enforce_csrf_checks=True)

    posted = post_comment(strict, article)
    listed = strict.get(comments_url(article))

    assert posted.status_code == 202
    assert not posted.cookies and not listed.cookies


def test_no_private_field_in_any_log_line(
    api_client, article, spam_model, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("DEBUG")
    caplog.set_level("DEBUG", logger="django")  # as verbose as anyone could make it
    caplog.set_level("DEBUG", logger="django.request")  # 4xx too (off by default: see below)
    # Capturing queries turns on Django's SQL debug logging, as DEBUG=True would.
    with CaptureQueriesContext(connection), django_capture_on_commit_callbacks(execute=True):
        post_comment(api_client, article)  # saved, then scored by the task inline
    post_comment(api_client, article, author_url="javascript:alert(1)")  # 400
    post_comment(api_client, ArticleFactory(comments_open=False))  # 403
    api_client.post("/api/articles/missing/comments/", valid_comment(), format="json")  # 404

    assert "Bad Request" in caplog.text  # the requests really were logged
    for secret in (PRIVATE_EMAIL, PRIVATE_IP, PRIVATE_AGENT):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "forwarded, stored",
    [
        ("203.0.113.201:5678", "203.0.113.201"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
        ("not-an-ip", "192.0.2.10"),  # the socket's address
    ],
)
def test_a_forwarded_address_is_normalised_or_replaced_by_the_sockets(
    api_client, article, settings, forwarded, stored
):
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"NUM_PROXIES": 1}

    response = api_client.post(
        comments_url(article),
        valid_comment(),
        format="json",
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR=forwarded,
    )

    assert response.status_code == 202, response.content
    assert Comment.objects.get().ip_address == stored


@pytest.mark.parametrize(
    "url",
    [
        'https://mina.example.org/"onmouseover="x',
        "https://mina.example.org/<b>",
        "https://mina.example.org/`x`",
        "https://evil.example\u202e/moc.elgoog",
        "https://mina.example.org/\u0007",
    ],
)
def test_a_website_with_quotes_brackets_or_control_characters_is_refused(api_client, article, url):
    response = post_comment(api_client, article, author_url=url)

    assert response.status_code == 400
    assert list(response.json()) == ["author_url"]
    assert not Comment.objects.exists()


def test_no_error_echoes_a_value_the_request_sent(api_client, article):
    comment = CommentFactory(article=article)

    bad_choice = api_client.post(
        f"/api/comments/{comment.pk}/report/", {"reason": "leak.probe@example.org"}, format="json"
    )
    bad_order = api_client.get(comments_url(article), {"order": "leak-probe-order"})
    bad_type = api_client.post(comments_url(article), b"x", content_type="text/x-leak-probe-type")

    assert (bad_choice.status_code, bad_order.status_code, bad_type.status_code) == (400, 400, 415)
    assert list(bad_choice.json()) == ["reason"] and list(bad_order.json()) == ["order"]
    for response in (bad_choice, bad_order, bad_type):
        assert b"leak" not in response.content, response.content


def test_a_chunked_body_gets_411_not_read_as_empty(api_client, article):
    response = api_client.post(
        comments_url(article),
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert not Comment.objects.exists()


def raise_error(request):
    raise RuntimeError("a bug")


# A URLconf for the test below: a view that fails, and the project's own 500 handler.
urlpatterns = [path("api/broken/", raise_error), path("broken/", raise_error)]
handler500 = getattr(project_urls, "handler500", "django.views.defaults.server_error")


@pytest.mark.urls("tests.test_api")
def test_a_server_error_under_api_is_json_and_elsewhere_a_page(client):
    client.raise_request_exception = False

    api, page = client.get("/api/broken/"), client.get("/broken/")

    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (500, "text/html")


def test_an_unknown_api_path_or_a_foreign_host_is_json(client, settings):
    missing = client.get("/api/nowhere/")
    foreign = client.get("/api/articles/", HTTP_HOST="evil.example")

    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})
    assert (foreign.status_code, foreign.json()) == (400, {"detail": "Bad request."})
    assert client.get("/nowhere/")["Content-Type"].startswith("text/html")


def test_an_ipv6_client_is_counted_by_its_64_not_its_address(api_client, article, settings):
    settings.REPLYGUARD_RATE_COMMENT_POST = "2/minute"

    def post_from(address, n):
        return api_client.post(
            comments_url(article),
            valid_comment(body=f"Take {n}"),
            format="json",
            REMOTE_ADDR=address,
        )

    rotating = [post_from(f"2001:db8:1:2::{n + 1:x}", n) for n in range(3)]
    neighbour = post_from("2001:db8:1:3::1", 3)

    assert [r.status_code for r in rotating] == [202, 202, 429]
    assert neighbour.status_code == 202


def test_a_client_error_is_logged_once_by_the_access_line_not_again_by_django(
    api_client, article, caplog
):
    caplog.set_level("INFO")

    response = post_comment(api_client, article, author_url="javascript:alert(1)")

    assert response.status_code == 400
    assert not [record for record in caplog.records if record.name == "django.request"]


def test_a_thread_page_says_how_many_comments_the_article_has_replies_included(api_client, article):
    top = CommentFactory(article=article)
    CommentFactory(article=article, parent=top)
    CommentFactory(article=article, status="held")

    page = api_client.get(comments_url(article)).json()

    assert (page["count"], page["comments"]) == (1, 2)  # threads; published comments in all

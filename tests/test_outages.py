"""A Redis outage (cache and rate limits on it, as in production) must not cost a comment:
a real redis-server is started on a free port and killed by the test, never mocked."""

import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from harness.stack import free_port
from moderation.api.threads import PublicWriteThrottle
from moderation.middleware import ServiceUnavailableMiddleware
from moderation.models import Comment
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    django_in_a_subprocess,
    postgres_available,
    require,
)
from tests.factories import ArticleFactory, CommentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_server():
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield proc, port
    proc.kill()
    proc.wait()


@pytest.fixture
def redis_cache(settings, redis_server):
    """The default cache on that server, with the production settings' timeouts."""
    proc, port = redis_server
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": settings.REPLYGUARD_REDIS_CACHE_OPTIONS,
        }
    }
    return proc


def kill(proc) -> None:
    proc.kill()
    proc.wait()


def post(client, article, email="mina@example.org", body="A point about the summit."):
    return client.post(
        f"/api/articles/{article.slug}/comments/",
        {"author_name": "Mina", "author_email": email, "body": body},
        content_type="application/json",
    )


def test_a_comment_posted_while_redis_is_down_is_stored_and_accepted(client, redis_cache):
    article = ArticleFactory()
    assert post(client, article, body="Before the outage.").status_code == 202
    kill(redis_cache)

    response = post(client, article, email="jo@example.org", body="During the outage.")

    assert response.status_code == 202, response.content
    assert Comment.objects.filter(body="During the outage.", status="pending").exists()


def test_flood_control_in_the_database_still_holds_while_redis_is_down(
    client, redis_cache, settings
):
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    article = ArticleFactory()
    kill(redis_cache)

    first = post(client, article, body="First.")
    second = post(client, article, body="Second, too soon.")

    assert (first.status_code, second.status_code) == (202, 429)
    assert second["Content-Type"] == "application/json"


def test_threads_are_read_uncached_while_redis_is_down(client, redis_cache):
    comment = CommentFactory(body="Published before the outage.")
    url = f"/api/articles/{comment.article.slug}/comments/"
    assert client.get(url).status_code == 200  # rendered and cached
    kill(redis_cache)

    response = client.get(url)

    assert response.status_code == 200
    assert response.json()["results"][0]["body"] == "Published before the outage."


def test_the_rate_limit_counts_in_redis_while_it_is_up(client, redis_cache, settings):
    settings.REPLYGUARD_RATE_COMMENT_POST = "2/minute"
    article = ArticleFactory()

    codes = [post(client, article, email=f"r{i}@x.org", body=f"{i}").status_code for i in range(3)]

    assert codes == [202, 202, 429]


def test_a_report_is_accepted_while_redis_is_down(client, redis_cache):
    comment = CommentFactory()
    kill(redis_cache)

    response = client.post(
        f"/api/comments/{comment.pk}/report/", {"reason": "spam"}, content_type="application/json"
    )

    assert response.status_code == 202, response.content


def test_whatever_still_fails_on_a_cache_outage_answers_503_json_with_retry_after(rf):
    middleware = ServiceUnavailableMiddleware(get_response=None)

    response = middleware.process_exception(rf.get("/api/x/"), redis.ConnectionError("refused"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word, as a hung database does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


def test_a_database_that_accepts_and_never_answers_fails_within_the_connect_timeout(
    silent_server,
):
    started = time.monotonic()
    result = django_in_a_subprocess(
        "from django.db import connection, OperationalError\n"
        "try: connection.ensure_connection()\n"
        "except OperationalError: print('refused in time')",
        DATABASE_URL=f"postgres://nobody@127.0.0.1:{silent_server}/db",
        REPLYGUARD_DB_CONNECT_TIMEOUT="1",
    )

    assert "refused in time" in result.stdout, result.stderr[-2000:]
    assert time.monotonic() - started < 15


def test_a_statement_that_runs_too_long_is_cancelled(postgres_url):
    result = django_in_a_subprocess(
        "from django.db import connection, OperationalError\n"
        "try: connection.cursor().execute('SELECT pg_sleep(5)')\n"
        "except OperationalError as error: print(type(error.__cause__).__name__)",
        DATABASE_URL=postgres_url,
        REPLYGUARD_DB_STATEMENT_TIMEOUT_MS="300",
    )

    assert "QueryCanceled" in result.stdout, result.stderr[-2000:]


@pytest.fixture
def postgres_url():
    require(postgres_available(), f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    return POSTGRES_ADMIN_URL


def test_the_rate_limit_takes_one_round_trip_to_redis_and_keeps_a_sliding_window(
    client, redis_cache, settings
):
    settings.REPLYGUARD_RATE_COMMENT_POST = "2/minute"
    article = ArticleFactory()
    server = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    post(client, article, email="warm@x.org", body="Warming the article cache.")
    server.config_resetstat()

    second = post(client, article, email="r1@x.org", body="One.")
    commands = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in server.info("commandstats").items()
    }
    third = post(client, article, email="r2@x.org", body="Two.")

    assert (second.status_code, third.status_code) == (202, 429)
    assert 55 <= int(third["Retry-After"]) <= 60  # when the first of the window leaves it
    # The window is one script call (EVALSHA), not DRF's GET and SET of a pickled list: the
    # GET left is the article's, a SET at most the scoring flag's (SET NX). Before: 2 and 2.
    assert commands.get("evalsha") == 1, commands
    assert commands.get("get", 0) <= 1 and commands.get("set", 0) <= 1, commands


def test_racing_requests_get_exactly_the_limit_through_the_window(redis_cache, settings):
    settings.REPLYGUARD_RATE_COMMENT_POST = "5/minute"
    request = APIRequestFactory().post("/", REMOTE_ADDR="10.9.8.7")
    request.user = AnonymousUser()
    view = SimpleNamespace(throttle_scope="comment_post")

    def one(_):
        return PublicWriteThrottle().allow_request(request, view)

    with ThreadPoolExecutor(10) as pool:
        allowed = list(pool.map(one, range(40)))

    assert sum(allowed) == 5

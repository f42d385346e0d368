"""End to end, as a reader and the worker see it: POST → broker → real Celery worker → decision
→ GET. On PostgreSQL with Redis and with RabbitMQ (production), and on the embedded default."""

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager

import psycopg
import pytest
import redis

from harness.stack import (
    TcpProxy,
    free_port,
    http,
    manage,
    redis_server,
    running_stack,
    wait_for,
)
from tests.conftest import require

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("REPLYGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_CACHE_URL = REDIS_URL.rsplit("/", 1)[0] + "/13"  # apart from the broker, as in production
RABBITMQ_URL = os.environ.get("REPLYGUARD_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

READER = {
    "author_name": "Mina Park",
    "author_email": "mina.private@example.org",
    "body": "Good to see both leaders keep talking. The anniversary next year matters.",
}
SPAM = {
    "author_name": "Gift Cards",
    "author_email": "cards@example.org",
    "body": "CHECK OUT MY CHANNEL, FREE GIFT CARDS http://bit.ly/x",
}


# A fast sweep, so a test need not wait the default two minutes for a lost task.
FAST_SWEEP = {"REPLYGUARD_REQUEUE_PENDING_AFTER": "2", "REPLYGUARD_REQUEUE_EVERY": "1"}


def stack_env(tmp_path, database_url: str, broker_url: str, model_dir) -> dict:
    """Named outright, so a DATABASE_URL or broker in the test's own environment cannot leak in."""
    return {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REPLYGUARD_VAR_DIR": str(tmp_path),  # also the filesystem broker's folders
        "REPLYGUARD_MODEL_DIR": str(model_dir),
        # These tests post the same comments from one address in quick succession on purpose.
        "REPLYGUARD_FLOOD_SECONDS": "0",
        "REPLYGUARD_DUPLICATE_WINDOW_HOURS": "0",
    }


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def redis_broker():
    require(
        redis_available(),
        f"Redis is not reachable at {REDIS_URL}: start redis-server "
        "or set REPLYGUARD_TEST_REDIS_URL",
    )
    redis.Redis.from_url(REDIS_URL).flushdb()  # no task left over from an earlier run
    yield REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()


def rabbitmq_available() -> bool:
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.connect()
        return True
    except OSError:
        return False


@pytest.fixture
def rabbitmq_broker():
    """RabbitMQ with an empty task queue (no wake-up left over from an earlier run)."""
    from kombu import Connection

    require(
        rabbitmq_available(),
        f"RabbitMQ is not reachable at {RABBITMQ_URL}: start rabbitmq-server "
        "or set REPLYGUARD_TEST_RABBITMQ_URL",
    )

    def purge():  # Celery's default queue, declared again by the worker as it starts
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.channel().queue_delete("celery")

    purge()
    yield RABBITMQ_URL
    purge()


def demo_comments_url(base_url: str) -> str:
    [article] = http("GET", f"{base_url}/api/articles/")[1]["results"]
    return f"{base_url}/api/articles/{article['slug']}/comments/"


def published_ids(comments_url: str) -> list[int]:
    def walk(comments):
        for comment in comments:
            yield comment["id"]
            yield from walk(comment["replies"])

    return list(walk(http("GET", comments_url)[1]["results"]))


def assert_reader_published_and_spam_not(base_url, read_status):
    comments_url = demo_comments_url(base_url)

    status, reader = http("POST", comments_url, READER)
    assert (status, reader["status"]) == (202, "pending")
    _, spam = http("POST", comments_url, SPAM)

    wait_for(
        lambda: reader["id"] in published_ids(comments_url),
        timeout=60,
        what="the worker to publish the reader's comment",
    )
    spam_status = wait_for(
        lambda: read_status(spam["id"]) != "pending" and read_status(spam["id"]),
        timeout=30,
        what="the worker to decide the spam comment",
    )
    assert spam_status in ("held", "spam")
    assert spam["id"] not in published_ids(comments_url)

    status, reply = http("POST", comments_url, READER | {"parent": reader["id"]})
    assert status == 202
    wait_for(
        lambda: reply["id"] in published_ids(comments_url),
        timeout=60,
        what="the worker to publish the reply",
    )
    [thread] = http("GET", comments_url)[1]["results"]
    assert [r["id"] for r in thread["replies"]] == [reply["id"]]
    assert READER["author_email"].encode() not in str(thread).encode()


def assert_a_real_worker_decides_on_postgres(tmp_path, database_url, broker_url, model_dir):
    def read_status(comment_id):
        with psycopg.connect(database_url) as db:
            row = db.execute(
                "SELECT status FROM moderation_comment WHERE id = %s", [comment_id]
            ).fetchone()
        return row[0]

    env = stack_env(tmp_path, database_url, broker_url, model_dir)
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        assert_reader_published_and_spam_not(stack.url, read_status)


def test_a_real_worker_decides_comments_on_postgres_and_redis(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    assert_a_real_worker_decides_on_postgres(
        tmp_path, postgres_database, redis_broker, trained_model_dir
    )


def test_a_real_worker_decides_comments_on_postgres_and_rabbitmq(
    tmp_path, postgres_database, rabbitmq_broker, trained_model_dir
):
    assert_a_real_worker_decides_on_postgres(
        tmp_path, postgres_database, rabbitmq_broker, trained_model_dir
    )


def test_a_real_worker_decides_comments_on_the_embedded_default(tmp_path, trained_model_dir):
    database = tmp_path / "replyguard.sqlite3"

    def read_status(comment_id):
        with sqlite3.connect(database) as db:
            return db.execute(
                "SELECT status FROM moderation_comment WHERE id = ?", [comment_id]
            ).fetchone()[0]

    env = stack_env(tmp_path, f"sqlite:///{database}", "filesystem://localhost/", trained_model_dir)
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        assert_reader_published_and_spam_not(stack.url, read_status)


def test_a_comment_posted_while_the_broker_is_down_is_saved_and_decided_once_it_is_back(
    tmp_path, postgres_database, trained_model_dir
):
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    port = free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    env = stack_env(tmp_path, postgres_database, broker_url, trained_model_dir) | FAST_SWEEP
    with ExitStack() as first_broker, ExitStack() as stack:
        first_broker.enter_context(redis_server(port=port, logs=tmp_path))
        running = stack.enter_context(
            running_stack(env_overrides=env, logs=tmp_path, worker_args=("--beat",))
        )
        comments_url = demo_comments_url(running.url)
        first_broker.close()  # the broker dies, with whatever it held

        started = time.monotonic()
        status, comment = http("POST", comments_url, READER)
        elapsed = time.monotonic() - started

        assert (status, comment["status"]) == (202, "pending")
        assert elapsed < 3, f"POST took {elapsed:.1f}s with the broker down"
        with psycopg.connect(postgres_database) as db:
            assert db.execute(
                "SELECT status FROM moderation_comment WHERE id = %s", [comment["id"]]
            ).fetchone() == ("pending",)

        with redis_server(port=port, logs=tmp_path):  # back, empty: the task is gone
            wait_for(
                lambda: comment["id"] in published_ids(comments_url),
                timeout=90,
                what="the sweep to re-enqueue the comment and a worker to publish it",
            )


@contextmanager
def table_locked(database_url: str, table: str):
    """Hold a lock that lets a worker claim and update comments but blocks it at its first
    decision record: the worker is then inside its transaction, mid-decision."""
    with psycopg.connect(database_url) as db:
        db.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
        yield
        db.rollback()


def blocked_decisions(database_url: str) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"moderation_decision\"%%'"
        ).fetchone()[0]


def decisions_of(database_url: str, comment_id: int) -> list[tuple]:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT from_status, to_status FROM moderation_decision WHERE comment_id = %s",
            [comment_id],
        ).fetchall()


def post_with_no_worker_running(stack, count: int = 1) -> list[int]:
    stack.kill_worker(stack.workers[0])
    ids = []
    for n in range(count):
        status, comment = http(
            "POST", demo_comments_url(stack.url), READER | {"body": f"{n}. " + READER["body"]}
        )
        assert status == 202
        ids.append(comment["id"])
    return ids


def test_a_worker_killed_mid_task_leaves_the_comment_to_be_decided_exactly_once(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    env = stack_env(tmp_path, postgres_database, redis_broker, trained_model_dir) | FAST_SWEEP
    with running_stack(env_overrides=env, logs=tmp_path, worker_args=("--beat",)) as stack:
        [comment_id] = post_with_no_worker_running(stack)

        with table_locked(postgres_database, "moderation_decision"):
            doomed = stack.start_worker()
            wait_for(
                lambda: blocked_decisions(postgres_database) >= 1,
                timeout=60,
                what="the worker to be inside its decision",
            )
            stack.kill_worker(doomed)  # SIGKILL, mid-task: its transaction dies with it
        assert decisions_of(postgres_database, comment_id) == []

        stack.start_worker()
        wait_for(
            lambda: decisions_of(postgres_database, comment_id),
            timeout=60,
            what="a new worker to decide the comment",
        )
        time.sleep(3)  # let any re-delivered task or sweep run too
        assert decisions_of(postgres_database, comment_id) == [("pending", "published")]


def test_two_workers_woken_at_once_claim_different_comments_and_decide_each_once(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    env = stack_env(tmp_path, postgres_database, redis_broker, trained_model_dir)
    env |= {"REPLYGUARD_SCORING_BATCH": "2"}  # 5 comments: at least 3 batches
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        comment_ids = post_with_no_worker_running(stack, count=5)
        manage("requeue_pending", "--older-than", "0", env=stack.env)  # more tasks than needed

        with table_locked(postgres_database, "moderation_decision"):
            stack.start_worker(concurrency=1)
            stack.start_worker(concurrency=1)
            wait_for(
                lambda: blocked_decisions(postgres_database) >= 2,
                timeout=60,
                what="both workers to be inside a decision at once",
            )
        wait_for(
            lambda: all(decisions_of(postgres_database, i) for i in comment_ids),
            timeout=30,
            what="the workers to decide every comment",
        )
        time.sleep(2)  # let every extra task run

        for comment_id in comment_ids:
            assert decisions_of(postgres_database, comment_id) == [("pending", "published")]


def test_a_burst_of_comments_sends_one_scoring_task_with_a_shared_cache(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    env = stack_env(tmp_path, postgres_database, redis_broker, trained_model_dir)
    env |= {"CACHE_URL": REDIS_CACHE_URL}
    redis.Redis.from_url(REDIS_CACHE_URL).flushdb()  # no flag left over from an earlier run
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        comment_ids = post_with_no_worker_running(stack, count=5)

        assert redis.Redis.from_url(redis_broker).llen("celery") == 1

        stack.start_worker()
        wait_for(
            lambda: all(decisions_of(postgres_database, i) for i in comment_ids),
            timeout=60,
            what="the worker to decide every comment",
        )
        status, comment = http("POST", demo_comments_url(stack.url), READER)
        wait_for(
            lambda: decisions_of(postgres_database, comment["id"]),
            timeout=30,
            what="a comment posted after the task started to ring for a task of its own",
        )


def test_a_database_outage_answers_503_json_and_recovers_by_itself(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    server = psycopg.conninfo.conninfo_to_dict(postgres_database)
    proxy = TcpProxy(target_port=int(server.get("port", 5432)))
    proxy.start()
    proxied = postgres_database.replace(f":{proxy.target_port}/", f":{proxy.port}/")
    env = stack_env(tmp_path, proxied, redis_broker, trained_model_dir)
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        comments_url = demo_comments_url(stack.url)
        proxy.stop()  # PostgreSQL goes away, open connections included

        for method, body in (("GET", None), ("POST", READER)):
            status, error = http(method, comments_url, body)
            assert status == 503, (method, status)
            assert "unavailable" in error["detail"]
        assert READER["author_email"] not in (tmp_path / "web.log").read_text()

        proxy.start()
        wait_for(
            lambda: http("GET", comments_url)[0] == 200,
            timeout=30,
            what="the API to recover without a restart",
        )
        status, comment = http("POST", comments_url, READER)
        assert (status, comment["status"]) == (202, "pending")
    proxy.stop()


def post_raw(url: str, body: dict) -> tuple[int, str, bytes]:
    """(status, content type, body) of a POST, whatever it answers: HTML included."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_a_redis_outage_under_load_loses_no_comment_and_answers_no_html(
    tmp_path, postgres_database, trained_model_dir
):
    """The production layout, broker and cache on one Redis: readers keep posting while it is
    killed for a few seconds and started again, empty. Every answer is JSON, every accepted
    comment is stored, and every one is decided once Redis is back."""
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    port = free_port()
    env = stack_env(tmp_path, postgres_database, f"redis://127.0.0.1:{port}/0", trained_model_dir)
    env |= FAST_SWEEP | {
        "CACHE_URL": f"redis://127.0.0.1:{port}/1",
        "REPLYGUARD_RATE_COMMENT_POST": "10000/minute",  # one address posts for every reader
    }
    answers, stop = [], threading.Event()

    def readers_posting(url: str) -> None:
        while not stop.is_set():
            n = len(answers)
            body = {"author_name": "R", "author_email": f"r{n}@example.org", "body": f"Point {n}."}
            answers.append(post_raw(url, body))

    with ExitStack() as first_redis, ExitStack() as stack:
        first_redis.enter_context(redis_server(port=port, logs=tmp_path))
        running = stack.enter_context(
            running_stack(env_overrides=env, logs=tmp_path, worker_args=("--beat",))
        )
        comments_url = demo_comments_url(running.url)
        posting = threading.Thread(target=readers_posting, args=(comments_url,))
        posting.start()
        try:
            time.sleep(2)
            before = len(answers)
            first_redis.close()  # Redis dies, with the queue and the cache
            time.sleep(6)
            during = len(answers) - before
            with redis_server(port=port, logs=tmp_path):
                time.sleep(2)
                stop.set()
                posting.join()
                accepted = [json.loads(body)["id"] for status, _, body in answers if status == 202]
                wait_for(
                    lambda: pending_count(postgres_database, accepted) == 0,
                    timeout=90,
                    what="every accepted comment to be decided after the outage",
                )
        finally:
            stop.set()
            posting.join()

    assert during >= 2, "no comment was posted during the outage"
    assert all(ctype == "application/json" for _, ctype, _ in answers), answers
    assert {status for status, _, _ in answers} <= {202, 503}, answers
    assert stored_count(postgres_database, accepted) == len(accepted) > before


def pending_count(database_url: str, ids: list[int]) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT count(*) FROM moderation_comment WHERE id = ANY(%s) AND status = 'pending'",
            [ids],
        ).fetchone()[0]


def stored_count(database_url: str, ids: list[int]) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT count(*) FROM moderation_comment WHERE id = ANY(%s)", [ids]
        ).fetchone()[0]


def test_identical_posts_at_once_from_one_reader_store_one_comment(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    """12 identical POSTs at once, from one address and email, in rounds: the check for a
    duplicate and the INSERT must be one step, or two of them pass the check together (before
    the advisory lock: 2 rows in 3 of 9 rounds)."""
    env = stack_env(tmp_path, postgres_database, redis_broker, trained_model_dir)
    env |= {
        "REPLYGUARD_DUPLICATE_WINDOW_HOURS": "24",
        "REPLYGUARD_RATE_COMMENT_POST": "10000/minute",
    }
    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        url = demo_comments_url(stack.url)
        for round_number in range(6):
            body = READER | {"body": f"The same words, sent twelve times at once ({round_number})."}
            threads = [threading.Thread(target=post_raw, args=(url, body)) for _ in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with psycopg.connect(postgres_database) as db:
                stored = db.execute(
                    "SELECT count(*) FROM moderation_comment WHERE body = %s", [body["body"]]
                ).fetchone()[0]
            assert stored == 1, f"round {round_number}: {stored} rows"


def test_a_silent_broker_costs_each_web_process_one_timeout_not_every_post(
    tmp_path, postgres_database, redis_broker, trained_model_dir
):
    """A broker that accepts connections and never answers: each POST waited out the 2 s
    broker timeout. After one failure a web process leaves the broker alone for
    REPLYGUARD_BROKER_RETRY_AFTER; the comments are stored, and the sweep rings later."""
    target = int(redis_broker.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(target_port=target)
    proxy.start()
    broker = redis_broker.replace(f":{target}/", f":{proxy.port}/")
    env = stack_env(tmp_path, postgres_database, broker, trained_model_dir)
    with running_stack(env_overrides=env, logs=tmp_path, web_workers=2) as stack:
        comments_url = demo_comments_url(stack.url)
        proxy.silence()
        seconds = []
        for i in range(6):
            comment = READER | {"author_email": f"s{i}@example.org", "body": f"Point {i}."}
            started = time.monotonic()
            status, _ = http("POST", comments_url, comment)
            seconds.append(time.monotonic() - started)
            assert status == 202
        proxy.stop()  # let the worker see a dead broker, not a hung one, as the stack stops

    slow = [s for s in seconds if s > 1.0]
    assert len(slow) <= 2, f"POST seconds: {[round(s, 2) for s in seconds]}"  # one per process


def raw_http(base_url: str, request: bytes) -> tuple[int, str, bytes]:
    """Send bytes as they are (urllib refuses what a probe sends) and read the whole answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    if headers.get("Transfer-Encoding") == "chunked":
        chunks, rest = [], body
        while (size := int(rest.split(b"\r\n", 1)[0], 16)) > 0:
            rest = rest.split(b"\r\n", 1)[1]
            chunks.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(chunks)
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


def test_every_answer_under_api_is_json_even_the_servers_own(tmp_path, trained_model_dir):
    """What gunicorn answers before Django sees the request (414, 431, 400), a chunked body,
    an unknown path: JSON, and none quotes the request back."""
    database = tmp_path / "replyguard.sqlite3"
    env = stack_env(tmp_path, f"sqlite:///{database}", "filesystem://localhost/", trained_model_dir)

    def stored() -> int:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT count(*) FROM moderation_comment").fetchone()[0]

    with running_stack(env_overrides=env, logs=tmp_path) as stack:
        before = stored()
        probe = "probe-" + "x" * 5000
        chunked_post = (
            "POST /api/articles/{slug}/comments/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n{size:x}\r\n{body}\r\n0\r\n\r\n"
        )
        body = json.dumps(READER)
        slug = demo_comments_url(stack.url).split("/")[-3]
        requests = {
            414: f"GET /api/articles/?q={probe} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            431: f"GET /api/articles/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Probe: {probe * 2}\r\n\r\n",
            400: "GET /api/articles/ HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header probe-x\r\n\r\n",
            404: "GET /api/nowhere-probe/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            411: chunked_post.format(slug=slug, size=len(body), body=body),
        }
        for expected, request in requests.items():
            status, content_type, answer = raw_http(stack.url, request.encode())

            assert (status, content_type) == (expected, "application/json"), answer[:200]
            assert "detail" in json.loads(answer)
            assert b"probe" not in answer
        assert stored() == before

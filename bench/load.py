"""The service under load, in the production shape on this machine (issue 6).

    python bench/load.py                   # 60 s per scenario (about 6 minutes in all)
    python bench/load.py --quick           # 10 s per scenario
    python bench/load.py --only reads      # one scenario (repeatable); figures then go to
                                           # bench/results/load-partial.json

Starts gunicorn (BENCH_WEB_WORKERS processes, 2) + a Celery worker (2 processes) on PostgreSQL
+ Redis, then the embedded default (SQLite + filesystem broker, as `make run` starts it), and
measures with wrk (Debian package `wrk`) at 8 connections:
- post: comment POST throughput, latency percentiles and errors, and the time from POST to
  decision (decided_at - created_at of every comment posted) with the backlog at the end;
- worker: decisions per second from a standing queue with 2 worker processes: the spam model
  alone, both models (spam and abuse) as in production, the spam model alone again; then 1
  process with both;
- reads: a page of a 10,000-comment thread rendered each time, from the server's page cache,
  and as a 304 to a reader holding the current ETag;
- admin: the moderation queue and the all-comments list with 200,000 more comments, half of
  them held;
- memory: resident memory of each gunicorn and Celery process after the load;
- embedded: the post scenario on the embedded default.
After each POST run, PROFILE_SECONDS more of the same load with py-spy sampling the gunicorn
workers: the top 10 frames by own time, so the next round starts from numbers.
Each POST is a new reader (unique email, text and X-Forwarded-For address) so flood control,
duplicates and the per-IP rate limit see distinct readers, as on a real site; the rate limit is
raised to count them all. Prints a table; raw figures and the machine go to bench/results/.
"""

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.stack import (  # noqa: E402
    PYTHON,
    SECRET_KEY,
    free_port,
    http,
    manage,
    running_stack,
    wait_for,
)

RESULTS = ROOT / "bench" / "results" / "load.json"
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# The production shape: rate limits and the scoring flag in a Redis cache apart from the broker.
REDIS_CACHE_URL = os.environ.get("BENCH_REDIS_CACHE_URL", "redis://127.0.0.1:6379/11")
SLUG = "japans-kishida-and-south-koreas-yoon-emphasize-importance-of-continuing-improved-relations"
CONNECTIONS = 8
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))

# wrk's summary as one JSON line, after each run.
DONE_LUA = """
done = function(summary, latency, requests)
  local out = {requests = summary.requests, seconds = summary.duration / 1e6,
    errors = summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.status + summary.errors.timeout, status_errors = summary.errors.status,
    p50_ms = latency:percentile(50) / 1000, p99_ms = latency:percentile(99) / 1000}
  io.write("JSON ")
  local parts = {}
  for k, v in pairs(out) do parts[#parts + 1] = '"' .. k .. '": ' .. v end
  io.write("{" .. table.concat(parts, ", ") .. "}\\n")
end
"""

# Each request a new reader: wrk's Lua builds a unique email, address and text per request.
# READERS numbers the population: runs against one database within the flood window each
# take their own (addresses 10.x, 11.x, ...), or their readers would be refused as floods.
POST_SCRIPT = """
local words = {WORDS}
local n = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  n = n + 1
  local id = "READERS-" .. tid .. "-" .. n
  local text = {}
  for i = 1, 14 do text[i] = words[math.random(#words)] end
  local body = '{"author_name": "Reader ' .. id .. '", "author_email": "r' .. id ..
    '@bench.example", "body": "Reader ' .. id .. ' thinks ' .. table.concat(text, " ") .. '."}'
  local address = (10 + READERS) .. "." .. tid .. "." .. (math.floor(n / 250) % 250) .. "." ..
    (n % 250)
  local headers = {["Content-Type"] = "application/json", ["X-Forwarded-For"] = address}
  return wrk.format("POST", nil, headers, body)
end
"""


def post_script(readers: int = 0) -> str:
    words = ", ".join(f'"{word}"' for word in reader_words())
    return POST_SCRIPT.replace("READERS", str(readers)).replace("WORDS", words)


def reader_words() -> list[str]:
    """The demo article's words: a bench comment is 14 of them at random, as unlike one another
    as real readers' comments (at most 0.28 alike in MinHash over 300 of them; real news
    comments 0.48). Comments a number apart were all one campaign, which no comment section
    is: every batch then grouped under the campaigns lock, one worker process at a time."""
    text = (ROOT / "articles" / "demo" / "news-article-page.txt").read_text()
    return sorted({word.lower() for word in re.findall(r"[A-Za-z]{4,}", text)})


# Readers paging through a thread. PAGES pages exist; FRESH=true adds a query parameter never
# seen before, so each page is rendered (a miss in the server's page cache); ETAG, when set,
# is sent as If-None-Match (a reader's browser holding a current copy: 304).
READ_SCRIPT = """
local n = 0
request = function()
  n = n + 1
  local path = "{path}?page=" .. math.random(1, {pages})
  if {fresh} then path = path .. "&reader=" .. n .. "-" .. math.random(1, 1e9) end
  local headers = {{}}
  local etag = '{etag}'
  if etag ~= "" then headers["If-None-Match"] = etag end
  return wrk.format("GET", path, headers)
end
"""

TARGETS = {
    "postgres": {"post_per_second": 400, "post_p99_ms": 100},
    "embedded": {"post_per_second": 250},
    "decision": {"p50_ms": 200, "p99_ms": 2000},
}


def bench_env(workdir: Path, database_url: str, broker_url: str, model_dir: Path) -> dict:
    return {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REPLYGUARD_VAR_DIR": str(workdir),
        "REPLYGUARD_MODEL_DIR": str(model_dir),
        "NUM_PROXIES": "1",  # X-Forwarded-For names the reader, as behind a real proxy
        "REPLYGUARD_RATE_COMMENT_POST": "1000000/second",
        "LOG_LEVEL": "WARNING",
        # Beyond SQLite on localhost the service refuses its built-in key, as in production.
        "SECRET_KEY": SECRET_KEY,
        # Thousands of comments a minute on one article is a storm (moderation/storms.py): it
        # would pre-moderate the article and hold everything. Throughput is measured without.
        "REPLYGUARD_STORM_MIN_COMMENTS": "1000000000",
        # The readers' web, as docs/deployment.md lays it out: the Akismet door (and the model
        # it loads in every web process) runs on hosts of its own; bench/akismet.py measures it.
        "REPLYGUARD_AKISMET_API": "false",
    }


def wrk(url: str, seconds: int, workdir: Path, script_text: str = "") -> dict:
    script = workdir / f"wrk-{uuid.uuid4().hex[:6]}.lua"  # two may run at once
    script_text = script_text or post_script()
    script.write_text(script_text + DONE_LUA)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(CONNECTIONS),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    figures["per_second"] = round(figures["requests"] / figures["seconds"])
    return figures


PROFILE_SECONDS = 10
PROFILE_RATE = 200  # samples per second per process


def post_profile(url: str, web_pid: int, workdir: Path, script_text: str = "") -> dict:
    """Where a POST's time goes: the same load for PROFILE_SECONDS more, with py-spy sampling
    every gunicorn worker from outside (waits included: a round trip to Redis or PostgreSQL is
    time a request spends), apart from the measured run so the figures above carry no
    profiler. The top 10 frames by own time (the frame on top of the stack when sampled)."""
    if shutil.which("py-spy", path=str(Path(PYTHON).parent)) is None:
        return {"skipped": "py-spy is not installed (a dev dependency: pip install -e '.[dev]')"}
    spy = str(Path(PYTHON).parent / "py-spy")
    workers = process_tree(web_pid)[1:]  # [0]: gunicorn's master, which serves no request
    outputs = [workdir / f"profile-{pid}.txt" for pid in workers]
    samplers = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--idle",
                "--nonblocking",
                "--format",
                "raw",
                "--rate",
                str(PROFILE_RATE),
                "--duration",
                str(PROFILE_SECONDS),
                "--pid",
                str(pid),
                "--output",
                str(output),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, output in zip(workers, outputs, strict=True)
    ]
    wrk(url, PROFILE_SECONDS, workdir, script_text)
    for sampler in samplers:
        sampler.wait(timeout=60)
    own = {}
    for output in outputs:
        for line in output.read_text().splitlines() if output.exists() else []:
            stack, _, count = line.rpartition(" ")
            frame = stack.rsplit(";", 1)[-1]
            own[frame] = own.get(frame, 0) + int(count)
    total = sum(own.values())
    top = sorted(own.items(), key=lambda item: -item[1])[:10]
    return {
        "samples": total,
        "top_own_time": [{"frame": frame, "share": round(n / total, 3)} for frame, n in top],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def decision_figures(rows: list[tuple], pending: int) -> dict:
    """rows: (created_at, decided_at) seconds; pending: comments not decided at the end."""
    delays = [(decided - created) * 1000 for created, decided in rows if decided is not None]
    return {
        "decided": len(delays),
        "pending_at_end": pending,
        "p50_ms": round(percentile(delays, 50), 1) if delays else None,
        "p99_ms": round(percentile(delays, 99), 1) if delays else None,
    }


DECISIONS_SQL = (
    "SELECT {epoch_created}, {epoch_decided} FROM moderation_comment "
    "WHERE author_email LIKE '%@bench.example'"
)


def postgres_decisions(url: str) -> dict:
    with psycopg.connect(url) as db:
        rows = db.execute(
            DECISIONS_SQL.format(
                epoch_created="extract(epoch from created_at)::float8",
                epoch_decided="extract(epoch from decided_at)::float8",
            )
        ).fetchall()
    return decision_figures(rows, sum(1 for _, d in rows if d is None))


def sqlite_decisions(path: Path) -> dict:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            DECISIONS_SQL.format(
                # julianday: fractional seconds on any SQLite ('subsec' needs 3.42)
                epoch_created="(julianday(created_at) - 2440587.5) * 86400.0",
                epoch_decided="(julianday(decided_at) - 2440587.5) * 86400.0",
            )
        ).fetchall()
    return decision_figures(rows, sum(1 for _, d in rows if d is None))


def wait_for_drain(count_pending, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and count_pending():
        time.sleep(0.05)


@contextmanager
def scratch_postgres():
    """A new PostgreSQL database for one bench run, dropped after it (its URL); and the
    bench's Redis databases (broker and cache) emptied."""
    import redis

    name = f"replyguard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    for url in (REDIS_URL, REDIS_CACHE_URL):
        redis.Redis.from_url(url).flushdb()
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_postgres(seconds: int, workdir: Path, model_dir: Path, scenarios: set[str]) -> dict:
    figures = {}
    with scratch_postgres() as url:
        env = bench_env(workdir / "pg", url, REDIS_URL, model_dir) | {"CACHE_URL": REDIS_CACHE_URL}
        (workdir / "pg").mkdir()
        # The admin's pages need the static files' manifest, as `make run` collects them.
        django_env = os.environ | env | {"DJANGO_SETTINGS_MODULE": "config.settings"}
        manage("collectstatic", "--noinput", env=django_env)
        with running_stack(
            env_overrides=env, logs=workdir / "pg", web_workers=WEB_WORKERS
        ) as stack:
            if "post" in scenarios:
                posts = f"{stack.url}/api/articles/{SLUG}/comments/"
                post = wrk(posts, seconds, workdir)
                figures |= {"post": post, "decision_at_end_of_load": postgres_decisions(url)}
                figures["post_profile"] = post_profile(
                    posts, stack.web.pid, workdir, post_script(readers=3)
                )
                wait_for_drain(lambda: postgres_decisions(url)["pending_at_end"])
                figures["decision"] = postgres_decisions(url)
                # The web side alone, as the peer is measured: the workers run elsewhere in
                # production (stopped here; they decide what it posted afterwards).
                stack.kill_worker(stack.workers[-1])
                posts = f"{stack.url}/api/articles/{SLUG}/comments/"
                figures["post_alone"] = wrk(posts, seconds, workdir, post_script(readers=1))
                figures["post_alone_profile"] = post_profile(
                    posts, stack.web.pid, workdir, post_script(readers=2)
                )
                figures["bare_drf_post"] = bare_drf_post(url, seconds, workdir)
                stack.start_worker()
                wait_for_drain(lambda: postgres_decisions(url)["pending_at_end"], seconds=300)
            if "worker" in scenarios:
                queue = max(5000, seconds * 200)
                # What the abuse model costs the worker: the spam model alone before and after
                # both models. Each run leaves its comments indexed for campaigns, which slows
                # the next (measured: 655/s then 471/s, 547/s then 595/s): compared with the
                # mean of the runs around it, the order does not decide the answer.
                no_abuse = {"REPLYGUARD_ABUSE_MODEL_DIR": str(workdir / "no-abuse-model")}
                spam_only = []
                for with_abuse in (False, True, False):
                    stack.kill_worker(stack.workers[-1])
                    stack.start_worker(env=None if with_abuse else no_abuse)
                    run = worker_throughput(url, env, comments=queue)
                    if with_abuse:
                        figures["worker"] = run
                        figures["memory"] = memory(stack)
                    else:
                        spam_only.append(run)
                figures["worker_spam_only"] = spam_only
                # The same standing queue for one worker process: how throughput scales.
                stack.kill_worker(stack.workers[-1])
                stack.start_worker(concurrency=1)
                figures["worker_1_process"] = worker_throughput(url, env, comments=queue)
            if "reads" in scenarios:
                with psycopg.connect(url, autocommit=True) as db:
                    seed_thread(db)
                figures["reads"] = thread_reads(stack.url, seconds, workdir)
            if "admin" in scenarios:
                figures["admin"] = admin_pages(stack.url, stack.env, url)
            if "memory" not in figures:
                figures["memory"] = memory(stack)
    return figures


def bare_drf_post(database_url: str, seconds: int, workdir: Path) -> dict:
    """The same POSTs, in the same run, against the barest DRF create endpoint (bench/bare_drf:
    a ModelSerializer and one INSERT into the same table), on as many gunicorn processes with
    the same gunicorn settings, after ReplyGuard's worker has drained its backlog."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.bare_drf.settings",
        "WEB_CONCURRENCY": str(WEB_WORKERS),
    }
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}",
               "bench.bare_drf.wsgi"]  # fmt: skip
    log = workdir / "bare-drf.log"
    with log.open("w") as output:
        peer = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        wait_for(lambda: _listening(port), timeout=30, what="the bare DRF peer to listen")
        figures = wrk(f"http://127.0.0.1:{port}/api/articles/{SLUG}/comments/", seconds, workdir)
    finally:
        peer.terminate()
        peer.wait(timeout=20)
    if figures["errors"] or not figures["requests"]:  # a ratio against a dead peer means nothing
        sys.exit(f"the bare DRF peer failed ({figures}):\n{log.read_text()[-3000:]}")
    return figures


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


# Pending comments written straight into the table, as if posted while no worker ran, each
# with its text's fingerprint as comment_create gives it (a unique stand-in: the texts differ).
# Without one, each batch's duplicate check read every earlier bench comment of the day.
INSERT_PENDING = """
INSERT INTO moderation_comment (article_id, depth, author_name, author_email, author_url, body,
    body_fingerprint, status, spam_reasons, rule_hits, cause, model_version, created_at,
    ip_truncated, user_agent)
SELECT article_id, 0, name, email, '', body, md5(body), 'pending', '[]', '[]', '', '', now(),
    false, ''
FROM (
    SELECT (SELECT id FROM articles_article LIMIT 1) AS article_id, 'Reader ' || n AS name,
        'w' || n || '@' || %(run)s || '.bench.example' AS email,
        'Reader ' || n || ' thinks ' || (
            SELECT string_agg((%(words)s::text[])[1 + floor(random() * %(count)s)::int], ' ')
            FROM generate_series(1, 14) WHERE n > 0  -- per row, not once
        ) || '.' AS body
    FROM generate_series(1, %(comments)s) AS n
) AS readers
"""


def worker_throughput(url: str, env: dict, *, comments: int) -> dict:
    """Comments decided per second by the running worker processes from a standing queue:
    the POSTs' cost is out of the picture."""
    run = uuid.uuid4().hex[:8]  # this run's comments only: an earlier run's may be pending
    with psycopg.connect(url, autocommit=True) as db:
        words = reader_words()
        db.execute(
            INSERT_PENDING,
            {"run": run, "comments": comments, "words": words, "count": len(words)},
        )

        def pending() -> int:
            return db.execute(
                "SELECT count(*) FROM moderation_comment WHERE status = 'pending' "
                "AND author_email LIKE %s",
                (f"%@{run}.bench.example",),
            ).fetchone()[0]

        subprocess.Popen(  # wakes the workers; timed from the first decision, not its start-up
            [sys.executable, "manage.py", "requeue_pending", "--older-than", "0"],
            cwd=ROOT,
            env=os.environ | env | {"DJANGO_SETTINGS_MODULE": "config.settings"},
            stdout=subprocess.DEVNULL,
        )
        wait_for_drain(lambda: pending() == comments, seconds=60)
        started = time.monotonic()
        wait_for_drain(pending, seconds=120)
        elapsed = time.monotonic() - started
        left = pending()
    return {
        "comments": comments,
        "seconds": round(elapsed, 1),
        "left": left,
        "per_second": round((comments - left) / elapsed),
    }


THREAD_SLUG = "bench-thread-of-10000-comments"
THREAD_COMMENTS = 10_000  # published: 8,000 threads, the first 1,000 with two replies each

# A copy of the demo article, and its published comments written straight into the tables.
SEED_THREAD = """
INSERT INTO articles_article (title, slug, section, byline, dateline, body, published_at,
    comments_open, moderation_mode, thread_version, storm_pin)
SELECT title, %(slug)s, section, byline, dateline, body, published_at, true, moderation_mode, 0,
    ''
FROM articles_article LIMIT 1;

INSERT INTO moderation_comment (article_id, depth, author_name, author_email, author_url, body,
    status, spam_score, spam_reasons, rule_hits, cause, model_version, created_at, decided_at,
    published_at, ip_truncated, user_agent)
SELECT a.id, 0, 'Reader ' || n, 't' || n || '@bench.example', 'https://reader' || n || '.example/',
    'Comment ' || n || E' on the summit.\n\nA second paragraph, with <b>markup</b> & more.',
    'published', 0.01, '[]', '[]', 'model', 'bench', now() - n * interval '1 second',
    now(), now(), false, ''
FROM articles_article a, generate_series(1, %(threads)s) AS n WHERE a.slug = %(slug)s;

INSERT INTO moderation_comment (article_id, parent_id, thread_id, depth, author_name,
    author_email, author_url, body, status, spam_score, spam_reasons, rule_hits, cause,
    model_version, created_at, decided_at, published_at, ip_truncated, user_agent)
SELECT c.article_id, c.id, c.id, 1, 'Replier ' || r, 'r' || c.id || '-' || r || '@bench.example',
    '', 'A reply to comment ' || c.id || '.', 'published', 0.01, '[]', '[]', 'model', 'bench',
    now(), now(), now(), false, ''
FROM (SELECT id, article_id FROM moderation_comment WHERE article_id =
        (SELECT id FROM articles_article WHERE slug = %(slug)s) ORDER BY id LIMIT %(parents)s) c,
    generate_series(1, 2) AS r;
"""


def seed_thread(db) -> None:
    replies = THREAD_COMMENTS // 5
    run_sql(
        db,
        SEED_THREAD,
        {"slug": THREAD_SLUG, "threads": THREAD_COMMENTS - replies, "parents": replies // 2},
    )


def run_sql(db, script: str, params: dict) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement, params)


def thread_reads(stack_url: str, seconds: int, workdir: Path) -> dict:
    """A page of the 10,000-comment thread at 8 connections: rendered each time, served from
    the server's page cache, and answered 304 to a reader holding a current copy."""
    path = f"/api/articles/{THREAD_SLUG}/comments/"
    url = stack_url + path
    count = http("GET", url)[1]["count"]
    pages = -(-count // 20)
    etag = urllib.request.urlopen(url).headers["ETag"]

    def run(fresh: bool, page_count: int, with_etag: str = "") -> dict:
        script = READ_SCRIPT.format(
            path=path, pages=page_count, fresh=str(fresh).lower(), etag=with_etag
        )
        return wrk(url, seconds, workdir, script)

    return {
        "threads": count,
        "rendered": run(fresh=True, page_count=pages),
        "server_cache": run(fresh=False, page_count=5),
        "not_modified": run(fresh=False, page_count=1, with_etag=etag),
    }


QUEUE_COMMENTS = 200_000  # half of them held: the queue's target is for 100,000 held

# Comments of 20,000 readers on the demo article, as a busy site's table holds them: 10% held
# (a queue of 10,000), 15% spam, 5% rejected, the rest published; every 7th held one reported.
SEED_QUEUE = """
INSERT INTO moderation_comment (article_id, depth, author_name, author_email, author_url, body,
    status, spam_score, spam_reasons, rule_hits, cause, model_version, created_at, decided_at,
    published_at, ip_truncated, user_agent)
SELECT (SELECT id FROM articles_article WHERE slug = %(slug)s), 0,
    'Reader ' || n %% 20000, 'q' || n %% 20000 || '@bench.example', '',
    'Queued comment ' || n || ' about the summit and what it means for the region.',
    (array_fill('held'::text, ARRAY[10]) || ARRAY['spam', 'spam', 'spam', 'rejected']
        || array_fill('published'::text, ARRAY[6]))[1 + n %% 20],
    random(), '["word ''summit''"]', '[]', 'model', 'bench',
    now() - n * interval '1 second', now(), NULL, false, ''
FROM generate_series(1, %(comments)s) AS n;

INSERT INTO moderation_report (comment_id, reason, reporter_ip_sha256, reporter_email_sha256,
    created_at)
SELECT id, 'spam', md5(id::text), '', now() FROM moderation_comment
WHERE status = 'held' AND id %% 7 = 0 AND report_count = 0;
UPDATE moderation_comment SET report_count = 1  -- as Report.save counts them
WHERE status = 'held' AND id %% 7 = 0 AND report_count = 0;
ANALYZE;
"""

ADMIN_PAGES = {
    "queue": "/admin/moderation/heldcomment/",
    "all comments": "/admin/moderation/comment/",
}


def admin_pages(stack_url: str, env: dict, database_url: str, *, times: int = 20) -> dict:
    """Each admin page loaded `times` times by a logged-in moderator, with QUEUE_COMMENTS
    more comments in the table."""
    with psycopg.connect(database_url, autocommit=True) as db:
        run_sql(db, SEED_QUEUE, {"comments": QUEUE_COMMENTS, "slug": SLUG})
        total = db.execute("SELECT count(*) FROM moderation_comment").fetchone()[0]
        held = db.execute(
            "SELECT count(*) FROM moderation_comment WHERE status = 'held'"
        ).fetchone()[0]
    password = uuid.uuid4().hex
    manage(
        "createsuperuser",
        "--noinput",
        env=env
        | {"DJANGO_SUPERUSER_USERNAME": "bench", "DJANGO_SUPERUSER_PASSWORD": password}
        | {"DJANGO_SUPERUSER_EMAIL": "bench@bench.example"},
    )
    browser = admin_login(stack_url, "bench", password)
    figures = {"comments": total, "held": held}
    for name, path in ADMIN_PAGES.items():
        timings = []
        for _ in range(times):
            started = time.perf_counter()
            with browser.open(stack_url + path) as page:
                assert page.status == 200 and b"result" in page.read()
            timings.append((time.perf_counter() - started) * 1000)
        figures[name] = {
            "p50_ms": round(percentile(timings, 50), 1),
            "max_ms": round(max(timings), 1),
        }
    return figures


def admin_login(stack_url: str, username: str, password: str):
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    login = stack_url + "/admin/login/"
    form = browser.open(login).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
        | {"next": "/admin/"}
    )
    request = urllib.request.Request(login, data=data.encode(), headers={"Referer": login})
    with browser.open(request) as answer:
        assert "/admin/login/" not in answer.url, "the benchmark's admin login failed"
    return browser


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def process_tree(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid] + [p for child in children for p in process_tree(child)]


def memory(stack) -> dict:
    """Resident memory of each web and worker process, in MB, after the load."""
    return {
        "web": [rss_mb(pid) for pid in process_tree(stack.web.pid)],
        "worker": [
            rss_mb(pid) for w in stack.workers if w.poll() is None for pid in process_tree(w.pid)
        ],
    }


def run_embedded(seconds: int, workdir: Path, model_dir: Path) -> dict:
    folder = workdir / "embedded"
    folder.mkdir()
    database = folder / "replyguard.sqlite3"
    env = bench_env(folder, f"sqlite:///{database}", "filesystem://localhost/", model_dir)
    with running_stack(env_overrides=env, logs=folder, web_workers=WEB_WORKERS) as stack:
        posts = f"{stack.url}/api/articles/{SLUG}/comments/"
        post = wrk(posts, seconds, workdir)
        figures = {"post": post, "decision_at_end_of_load": sqlite_decisions(database)}
        figures["post_profile"] = post_profile(
            posts, stack.web.pid, workdir, post_script(readers=1)
        )
        wait_for_drain(lambda: sqlite_decisions(database)["pending_at_end"])
        figures["decision"] = sqlite_decisions(database)
    return figures


def model_trained(workdir: Path) -> Path:
    """The spam and abuse models trained for a bench run, on a scratch SQLite database of their
    own; the folder (the abuse model in its abuse/, where the stacks look by default)."""
    model_dir = workdir / "models"
    training = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    training |= {
        "REPLYGUARD_VAR_DIR": str(workdir / "training"),
        "REPLYGUARD_MODEL_DIR": str(model_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    manage("migrate", "--noinput", env=training)
    manage("train_classifier", env=training)
    manage("train_abuse_model", env=training)  # the worker scores both, as in production
    return model_dir


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
        "postgres": subprocess.run(
            ["psql", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "redis": subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }


def row(figure: str, target: str, measured, ok: bool | None = None) -> tuple:
    return figure, target, measured, ok


def at_least(figure: str, target: float, measured: float) -> tuple:
    return row(figure, f">= {target:,}", measured, measured >= target)


def at_most(figure: str, target: float, measured: float) -> tuple:
    return row(figure, f"<= {target:,}", measured, measured <= target)


def table(results: dict) -> list[tuple]:
    """(figure, target, measured, met or None) for every figure the results hold."""
    pg, emb = results.get("postgres", {}), results.get("embedded", {})
    lines = []
    if "post" in pg:
        post = pg["post"]
        lines.append(at_least("POST req/s, PostgreSQL, 8 connections", 400, post["per_second"]))
        lines.append(row("POST p50 ms, PostgreSQL", "", round(post["p50_ms"], 1)))
        lines.append(at_most("POST p99 ms, PostgreSQL", 100, round(post["p99_ms"], 1)))
        lines.append(at_most("POST errors, PostgreSQL", 0, post["errors"]))
    if "bare_drf_post" in pg:
        peer, alone = pg["bare_drf_post"], pg["post_alone"]
        lines.append(row("POST req/s, web alone (workers elsewhere)", "", alone["per_second"]))
        lines.append(at_most("POST p99 ms, web alone", 100, round(alone["p99_ms"], 1)))
        lines.append(at_most("POST errors, web alone", 0, alone["errors"]))
        lines.append(row("bare DRF create req/s, same run (the peer)", "", peer["per_second"]))
        lines.append(row("bare DRF create p99 ms", "", round(peer["p99_ms"], 1)))
        ratio = round(alone["per_second"] / max(1, peer["per_second"]), 2)
        lines.append(at_least("POST (web alone) / bare DRF create, req/s", 0.8, ratio))
        shared = round(pg["post"]["per_second"] / max(1, peer["per_second"]), 2)
        lines.append(row("POST (worker on the same cores) / bare DRF create", "", shared))
    if "post" in emb:
        lines.append(at_least("POST req/s, embedded default", 250, emb["post"]["per_second"]))
        lines.append(at_most("POST errors, embedded default", 0, emb["post"]["errors"]))
    for name, figures in (("PostgreSQL + Redis", pg), ("embedded", emb)):
        if "decision" not in figures:
            continue
        end, drained = figures["decision_at_end_of_load"], figures["decision"]
        lines.append(at_most(f"POST to decision p50 ms, {name}", 200, drained["p50_ms"] or 0))
        lines.append(at_most(f"POST to decision p99 ms, {name}", 2000, drained["p99_ms"] or 0))
        lines.append(
            row(f"pending when the load stopped, {name}", "backlog", end["pending_at_end"])
        )
    if "worker" in pg:
        lines.append(
            at_least(
                "worker decisions/s, 2 processes, PG + Redis", 1000, pg["worker"]["per_second"]
            )
        )
        lines.append(row("worker decisions/s, 1 process", "", pg["worker_1_process"]["per_second"]))
        if "worker_spam_only" in pg:
            before, after = (run["per_second"] for run in pg["worker_spam_only"])
            both = f"{before} before, {after} after"
            lines.append(row("worker decisions/s, 2 processes, spam model only", "", both))
            cost = round(1 - pg["worker"]["per_second"] / ((before + after) / 2), 3)
            lines.append(at_most("  fall with the abuse model too (share of the mean)", 0.2, cost))
    if "reads" in pg:
        reads = pg["reads"]
        lines.append(row(f"thread pages of {reads['threads']:,} threads (10,000 comments)", "", ""))
        lines.append(
            at_most(
                "  rendered page p99 ms, 8 connections", 30, round(reads["rendered"]["p99_ms"], 1)
            )
        )
        lines.append(row("  rendered pages/s", "", reads["rendered"]["per_second"]))
        lines.append(
            at_least(
                "  cached page (server cache) req/s", 1500, reads["server_cache"]["per_second"]
            )
        )
        lines.append(
            at_least(
                "  conditional GET, current copy (304) req/s",
                1500,
                reads["not_modified"]["per_second"],
            )
        )
        errors = sum(reads[k]["errors"] for k in ("rendered", "server_cache", "not_modified"))
        lines.append(at_most("  read errors", 0, errors))
    if "admin" in pg:
        admin = pg["admin"]
        lines.append(
            row(f"admin with {admin['comments']:,} comments ({admin['held']:,} held)", "", "")
        )
        lines.append(at_most("  queue page, slowest of 20 ms", 300, admin["queue"]["max_ms"]))
        lines.append(row("  queue page p50 ms", "", admin["queue"]["p50_ms"]))
        lines.append(row("  all-comments page p50 ms", "", admin["all comments"]["p50_ms"]))
    if "memory" in pg:
        web, worker = pg["memory"]["web"][1:], pg["memory"]["worker"]  # [0]: gunicorn's master
        web_label = "gunicorn worker RSS MB, largest (readers' web, Akismet API off)"
        lines.append(at_most(web_label, 150, max(web)))
        lines.append(at_most("Celery worker process RSS MB, largest", 300, max(worker)))
    return lines


def text_table(rows: list[tuple]) -> str:
    lines = [f"{'figure':<52} {'target':>10} {'measured':>10}"]
    for figure, target, measured, ok in rows:
        verdict = "" if ok is None else ("pass" if ok else "FAIL")
        lines.append(f"{figure:<52} {target:>10} {str(measured):>10} {verdict}")
    return "\n".join(lines)


def performance_doc(results: dict) -> str:
    """docs/performance.md: the figures of the last full run, as this script measured them."""
    machine = results["machine"]
    when = results.get("measured_at", "date not recorded")
    lines = [
        "# Performance under load",
        "",
        f"Written by `python bench/load.py` from its last full run ({when}; "
        f"{results['seconds_per_scenario']} s per scenario, {results['connections']} "
        f"connections). Do not edit by hand. Machine: {machine['cores']} cores, "
        f"Python {machine['python']}, {machine['postgres']}, {machine['redis'].split(' sha')[0]}; "
        "wrk runs on the same cores, so every figure is a floor.",
        "",
        "What it runs: gunicorn (2 processes) and a Celery worker (2 processes) on PostgreSQL and "
        "Redis, then the embedded default as `make run` starts it. Each POST is a new reader "
        "(unique email, forwarded address and text: 14 words of the demo article at random, as "
        "unlike one another as real comments); the POSTs run with the worker deciding on the "
        "same cores, then with the web alone (the workers stopped, as on machines of their "
        "own), followed by the barest DRF create endpoint (`bench/bare_drf/`: a "
        "ModelSerializer and one INSERT into the same table, same gunicorn settings and "
        "processes) for the ratio; a standing queue is drained by 2 worker processes with the "
        "spam model alone, with the spam and abuse models (as everywhere else in this run) and "
        "with the spam model alone again, then by 1 process; a "
        "thread of 10,000 published comments is read rendered, from the server's page cache, "
        "and as a 304; the admin's pages are opened with 200,000 more comments (half held) in the "
        "table. Scaling over several worker nodes and web instances: `bench/scaling.py`, in "
        "[deployment.md](deployment.md). Raw figures: `bench/results/load.json`.",
        "",
        "| figure | target | measured | |",
        "|---|---|---|---|",
    ]
    for figure, target, measured, ok in table(results):
        verdict = "" if ok is None else ("✓" if ok else "✗")
        lines.append(
            f"| {figure.strip()} | {target.replace('>=', '≥').replace('<=', '≤')} "
            f"| {measured} | {verdict} |"
        )
    lines += ["", "## Where a POST's time goes", "", "```text", *profile_lines(results), "```"]
    return "\n".join(lines) + "\n"


PROFILED = [  # (run, where its profile is in the results)
    ("POST, worker on the same cores (PostgreSQL + Redis)", ("postgres", "post_profile")),
    ("POST, web alone (PostgreSQL + Redis)", ("postgres", "post_alone_profile")),
    ("POST, embedded default", ("embedded", "post_profile")),
]


def profile_lines(results: dict) -> list[str]:
    """Each POST run's profile: the top 10 frames by own time, as shares of the samples taken
    in the gunicorn workers (py-spy, waits included, PROFILE_SECONDS after the measured run)."""
    lines = []
    for run, (stack, key) in PROFILED:
        profile = results.get(stack, {}).get(key)
        if not profile:
            continue
        lines.append(f"{run}: " + profile.get("skipped", f"{profile['samples']:,} samples"))
        lines += [
            f"  {row['share']:6.1%}  {row['frame']}" for row in profile.get("top_own_time", [])
        ]
        lines.append("")
    return lines


SCENARIOS = ["post", "worker", "reads", "admin", "embedded"]


@contextmanager
def work_folder(*, keep: bool):
    if keep:
        folder = Path(tempfile.mkdtemp(prefix="replyguard-bench-"))
        print(f"work folder (kept, with every process's log): {folder}")
        yield folder
    else:
        with tempfile.TemporaryDirectory(prefix="replyguard-bench-") as tmp:
            yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per scenario")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run this scenario (repeatable)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, databases) and print it"
    )
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="only write docs/performance.md again, from the last full run's figures",
    )
    args = parser.parse_args()
    if args.docs_only:
        PERFORMANCE_DOC.write_text(performance_doc(json.loads(RESULTS.read_text())))
        return
    scenarios = set(args.only or SCENARIOS)
    seconds = 10 if args.quick else 60
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    started = time.monotonic()
    with work_folder(keep=args.keep) as workdir:
        model_dir = model_trained(workdir)
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "seconds_per_scenario": seconds,
            "connections": CONNECTIONS,
            "postgres": run_postgres(seconds, workdir, model_dir, scenarios),
        }
        if "embedded" in scenarios:
            results["embedded"] = run_embedded(seconds, workdir, model_dir)
    print(text_table(table(results)))
    print("\n".join(profile_lines(results)))
    # A partial or quick run keeps the last full one's figures, here and in the docs.
    full = scenarios == set(SCENARIOS) and not args.quick
    path = RESULTS if full else RESULTS.with_name("load-partial.json")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    if full:
        PERFORMANCE_DOC.write_text(performance_doc(results))
    print(f"({time.monotonic() - started:.0f} s; raw figures in {path.relative_to(ROOT)})")


if __name__ == "__main__":
    main()

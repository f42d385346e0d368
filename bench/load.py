"""The service under load, in the production shape on this machine (issue 6), first scenarios.

    python bench/load.py            # 60 s per scenario
    python bench/load.py --quick    # 10 s per scenario

Starts gunicorn + a Celery worker (2 processes) on PostgreSQL + Redis, then on the embedded
default (SQLite + filesystem broker, Django's runserver as `make run` uses), drives comment
POSTs with wrk (Debian package `wrk`) at 8 connections, and measures:
- POST throughput, latency percentiles and errors (wrk);
- time from POST to decision (decided_at - created_at of every comment posted), and the
  comments still pending at the end (the backlog).
Each request is a new reader (unique email, text and X-Forwarded-For address) so flood control,
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
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stack import manage, running_stack  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load.json"
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# The production shape: rate limits and the scoring flag in a Redis cache apart from the broker.
REDIS_CACHE_URL = os.environ.get("BENCH_REDIS_CACHE_URL", "redis://127.0.0.1:6379/11")
SLUG = "japans-kishida-and-south-koreas-yoon-emphasize-importance-of-continuing-improved-relations"
CONNECTIONS = 8

# Each request a new reader: wrk's Lua builds a unique email, address and text per request.
POST_SCRIPT = """
local n = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  n = n + 1
  local id = tid .. "-" .. n
  local body = '{"author_name": "Reader ' .. id .. '", "author_email": "r' .. id ..
    '@bench.example", "body": "Thoughtful comment number ' .. id ..
    ' about the summit and what it means for the region."}'
  local address = "10." .. tid .. "." .. (math.floor(n / 250) % 250) .. "." .. (n % 250)
  local headers = {["Content-Type"] = "application/json", ["X-Forwarded-For"] = address}
  return wrk.format("POST", nil, headers, body)
end
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
    }


def wrk(url: str, seconds: int, workdir: Path) -> dict:
    script = workdir / "post.lua"
    script.write_text(POST_SCRIPT)
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


def run_postgres(seconds: int, workdir: Path, model_dir: Path) -> dict:
    name = f"replyguard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    redis.Redis.from_url(REDIS_CACHE_URL).flushdb()
    try:
        env = bench_env(workdir / "pg", url, REDIS_URL, model_dir) | {"CACHE_URL": REDIS_CACHE_URL}
        (workdir / "pg").mkdir()
        with running_stack(
            env_overrides=env, logs=workdir / "pg", web="gunicorn", web_workers=2
        ) as stack:
            post = wrk(f"{stack.url}/api/articles/{SLUG}/comments/", seconds, workdir)
            figures = {"post": post, "decision_at_end_of_load": postgres_decisions(url)}
            wait_for_drain(lambda: postgres_decisions(url)["pending_at_end"])
            figures["decision"] = postgres_decisions(url)
            figures["worker"] = worker_throughput(url, env, comments=seconds * 200)
        return figures
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Pending comments written straight into the table, as if posted while no worker ran.
INSERT_PENDING = """
INSERT INTO moderation_comment (article_id, depth, author_name, author_email, author_url, body,
    status, spam_reasons, rule_hits, cause, model_version, created_at, ip_truncated, user_agent)
SELECT (SELECT id FROM articles_article LIMIT 1), 0, 'Reader ' || n, 'w' || n || '@bench.example',
    '', 'Queued comment ' || n || ' about the summit and what it means for the region.',
    'pending', '[]', '[]', '', '', now(), false, ''
FROM generate_series(1, %s) AS n
"""


def worker_throughput(url: str, env: dict, *, comments: int) -> dict:
    """Comments decided per second by the running worker (2 processes) from a standing queue:
    the POSTs' cost is out of the picture."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(INSERT_PENDING, (comments,))

        def pending() -> int:
            return db.execute(
                "SELECT count(*) FROM moderation_comment WHERE status = 'pending'"
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


def run_embedded(seconds: int, workdir: Path, model_dir: Path) -> dict:
    folder = workdir / "embedded"
    folder.mkdir()
    database = folder / "replyguard.sqlite3"
    env = bench_env(folder, f"sqlite:///{database}", "filesystem://localhost/", model_dir)
    with running_stack(env_overrides=env, logs=folder, web="runserver") as stack:
        post = wrk(f"{stack.url}/api/articles/{SLUG}/comments/", seconds, workdir)
        figures = {"post": post, "decision_at_end_of_load": sqlite_decisions(database)}
        wait_for_drain(lambda: sqlite_decisions(database)["pending_at_end"])
        figures["decision"] = sqlite_decisions(database)
    return figures


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


def row(figure: str, target: str, measured, ok: bool | None) -> str:
    verdict = "" if ok is None else ("pass" if ok else "FAIL")
    return f"{figure:<48} {target:>10} {str(measured):>10} {verdict}"


def table(results: dict) -> str:
    pg, emb = results["postgres"], results["embedded"]
    lines = [f"{'figure':<48} {'target':>10} {'measured':>10}"]
    lines.append(
        row(
            "POST req/s, PostgreSQL, 8 connections",
            ">= 400",
            pg["post"]["per_second"],
            pg["post"]["per_second"] >= 400,
        )
    )
    lines.append(row("POST p50 ms, PostgreSQL", "", round(pg["post"]["p50_ms"], 1), None))
    lines.append(
        row(
            "POST p99 ms, PostgreSQL",
            "<= 100",
            round(pg["post"]["p99_ms"], 1),
            pg["post"]["p99_ms"] <= 100,
        )
    )
    lines.append(
        row("POST errors, PostgreSQL", "0", pg["post"]["errors"], pg["post"]["errors"] == 0)
    )
    lines.append(
        row(
            "POST req/s, embedded default",
            ">= 250",
            emb["post"]["per_second"],
            emb["post"]["per_second"] >= 250,
        )
    )
    lines.append(
        row("POST errors, embedded default", "0", emb["post"]["errors"], emb["post"]["errors"] == 0)
    )
    worker = pg["worker"]["per_second"]
    lines.append(
        row("worker decisions/s, 2 processes, PG + Redis", ">= 1000", worker, worker >= 1000)
    )
    for name, figures in (("PostgreSQL + Redis", pg), ("embedded", emb)):
        end, drained = figures["decision_at_end_of_load"], figures["decision"]
        p50, p99 = drained["p50_ms"] or 0, drained["p99_ms"] or 0
        lines.append(row(f"POST to decision p50 ms, {name}", "<= 200", p50, p50 <= 200))
        lines.append(row(f"POST to decision p99 ms, {name}", "<= 2000", p99, p99 <= 2000))
        lines.append(
            row(f"pending when the load stopped, {name}", "backlog", end["pending_at_end"], None)
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per scenario")
    args = parser.parse_args()
    seconds = 10 if args.quick else 60
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replyguard-bench-") as tmp:
        workdir = Path(tmp)
        model_dir = workdir / "models"
        # The model is trained once, on a scratch SQLite database of its own.
        training = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        training |= {"REPLYGUARD_VAR_DIR": str(workdir / "training")}
        training |= {
            "REPLYGUARD_MODEL_DIR": str(model_dir),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        manage("migrate", "--noinput", env=training)
        manage("train_classifier", env=training)
        results = {
            "machine": machine(),
            "seconds_per_scenario": seconds,
            "connections": CONNECTIONS,
            "postgres": run_postgres(seconds, workdir, model_dir),
            "embedded": run_embedded(seconds, workdir, model_dir),
        }
    print(table(results))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"({time.monotonic() - started:.0f} s; raw figures in {RESULTS.relative_to(ROOT)})")


if __name__ == "__main__":
    main()

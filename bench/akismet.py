"""The Akismet-compatible comment-check beside the comment POST, on the production shape.

    python bench/akismet.py                 # about 4 minutes (trains a model first)
    python bench/akismet.py --model-dir D   # reuse a trained model folder (its ACTIVE file)

gunicorn (BENCH_WEB_WORKERS processes, 2) and a Celery worker on PostgreSQL + Redis, as
bench/load.py starts them. Texts are real: news comments (news-comments-dev) and WordPress form
spam (blog-spam-wordpress), four to one, each request a new reader (own address and email).
- at a fixed rate (open loop, 100 requests/s for 30 s; latency counted from when each request
  was due, so a stall is not hidden by requests that were never sent): comment-check, then the
  comment POST, one after the other on the same stack;
- the most each answers (wrk, 8 connections, 15 s);
- the resident memory of each web process before any check and after (the model loaded).
- readers' thread pages alone and beside one key sending 5,000-character checks from 8
  connections, without a text budget and with the default one (REPLYGUARD_RATE_AKISMET_CHARS).
Target: comment-check p99 <= 25 ms at 100 requests/s. Writes bench/results/akismet.json and
docs/akismet-performance.md.
"""

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    REDIS_CACHE_URL,
    REDIS_URL,
    SLUG,
    bench_env,
    memory,
    model_trained,
    percentile,
    scratch_postgres,
    wrk,
)
from harness.stack import manage, running_stack  # noqa: E402
from harness.waves import DATASETS_DIR, EVALUATION_DIR, news_file  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "akismet.json"
DOC = ROOT / "docs" / "akismet-performance.md"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
RATE, SECONDS, WRK_SECONDS = 100, 30, 15
READS_RATE, READS_SECONDS = 50, 15
TARGET_P99_MS = 25
BLOG = "https://news.example"


def real_texts(limit: int = 2000) -> list[tuple[str, str, str]]:
    """(name, website, text): news comments and form spam, four to one, shuffled."""
    with news_file(EVALUATION_DIR).open(encoding="utf-8") as f:
        news = [("Reader", "", row["comment"].strip()) for row in csv.DictReader(f)]
    with (DATASETS_DIR / "blog-spam-wordpress" / "wordpress_spam.csv").open(encoding="utf-8") as f:
        spam = [(r["author"], r["website"], r["comment"].strip()) for r in csv.DictReader(f)]
    news = [row for row in news if row[2]][: limit * 4 // 5]
    mixed = news + [row for row in spam if row[2]][: len(news) // 4]
    random.Random(0).shuffle(mixed)
    return mixed


def check_form(key: str, texts: list, n: int) -> tuple[bytes, dict]:
    name, website, text = texts[n % len(texts)]
    form = {
        "api_key": key,
        "blog": BLOG,
        "user_ip": f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250}",
        "user_agent": "Mozilla/5.0 (bench)",
        "comment_type": "comment",
        "comment_author": name,
        "comment_author_email": f"c{n}@bench.example",
        "comment_author_url": website,
        "comment_content": f"{text} ({n})",  # never a duplicate of an earlier request
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return urllib.parse.urlencode(form).encode(), headers


def post_body(texts: list, n: int) -> tuple[bytes, dict]:
    name, website, text = texts[n % len(texts)]
    body = {
        "author_name": name[:100],
        "author_email": f"p{n}@bench.example",
        "author_url": website[:200] if website.startswith("http") else "",
        "body": f"{text[:4900]} ({n})",
    }
    address = f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250}"
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    return json.dumps(body).encode(), headers


def open_loop(
    host: str, port: int, path: str, request, *, rate: int, seconds: int, method: str = "POST"
) -> dict:
    """Send request(n) -> (body, headers) at `rate` per second, each at its due time whatever
    the ones before it are doing; latency from the due time. Returns percentiles and statuses."""
    total = rate * seconds
    start = time.perf_counter() + 0.5
    local, answers = threading.local(), [None] * total

    def one(n: int) -> None:
        due = start + n / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        if getattr(local, "connection", None) is None:
            local.connection = HTTPConnection(host, port, timeout=10)
        body, headers = request(n)
        try:
            local.connection.request(method, path, body, headers)
            response = local.connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            local.connection, status = None, None
        answers[n] = ((time.perf_counter() - due) * 1000, status)

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(total)))
    latencies = [ms for ms, _ in answers]
    statuses = {}
    for _, status in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": total,
        "statuses": statuses,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
    }


# wrk: a new reader per request, texts from a table the script is given.
WRK_CHECK = """
local n = 0
local texts = {texts}
setup = function(thread) thread:set("tid", math.random(1, 1e6)) end
request = function()
  n = n + 1
  local text = texts[(n % #texts) + 1]
  local body = "api_key={key}&blog=https%3A%2F%2Fnews.example&comment_type=comment" ..
    "&user_ip=10." .. (tid % 250) .. "." .. (math.floor(n / 250) % 250) .. "." .. (n % 250) ..
    "&comment_author=Reader&comment_author_email=w" .. tid .. "-" .. n .. "%40bench.example" ..
    "&comment_content=" .. text .. "+" .. tid .. "-" .. n
  return wrk.format("POST", nil, {{["Content-Type"] = "application/x-www-form-urlencoded"}}, body)
end
"""


def wrk_check(url: str, key: str, texts: list, workdir: Path) -> dict:
    quoted = [urllib.parse.quote_plus(text[:1000]) for _, _, text in texts[:200]]
    table = "{" + ",".join(json.dumps(q) for q in quoted) + "}"
    return wrk(url, WRK_SECONDS, workdir, WRK_CHECK.format(texts=table, key=key))


def reads_beside_one_key(host: str, port: int, key: str) -> dict:
    """Readers' thread pages (open loop, READS_RATE/s) alone, then while one key sends
    5,000-character checks back to back from 8 connections: what that key's work costs
    readers. Returns both percentiles and the key's answers by status."""
    thread = f"/api/articles/{SLUG}/comments/"
    read = lambda n: (None, {})  # noqa: E731
    alone = open_loop(host, port, thread, read, rate=READS_RATE, seconds=READS_SECONDS,
                      method="GET")  # fmt: skip
    long = ("The council's audit deserves a careful reading before anyone votes on it. " * 70)[
        :5000
    ]
    stop, statuses = threading.Event(), {}

    def hammer(thread_number: int) -> None:
        connection, n = HTTPConnection(host, port, timeout=30), 0
        while not stop.is_set():
            n += 1
            body, headers = check_form(key, [("Reader", "", long)], thread_number * 10**6 + n)
            try:
                connection.request("POST", "/1.1/comment-check", body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                connection, status = HTTPConnection(host, port, timeout=30), None
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(8)]
    for thread_ in threads:
        thread_.start()
    time.sleep(2)  # the key reaches its limit
    beside = open_loop(host, port, thread, read, rate=READS_RATE, seconds=READS_SECONDS,
                       method="GET")  # fmt: skip
    stop.set()
    for thread_ in threads:
        thread_.join()
    return {"reads_alone": alone, "reads_beside_the_key": beside, "key_answers": statuses}


def site_key(env: dict) -> str:
    out = manage("api_key", "create", "--blog", BLOG, "--name", "Bench", env=env)
    return out.strip().splitlines()[-1]


@contextmanager
def akismet_stack(workdir: Path, model_dir: Path, **settings):
    """A scratch database and the production shape with the Akismet API on, no request limit
    per key, and these settings; yields (stack, database url, host, port, a site key)."""
    with scratch_postgres() as url:
        env = bench_env(workdir, url, REDIS_URL, model_dir) | {
            "CACHE_URL": REDIS_CACHE_URL,
            "REPLYGUARD_AKISMET_API": "true",  # bench_env turns it off for the web alone
            "REPLYGUARD_RATE_AKISMET": "1000000/second",
            **settings,
        }
        with running_stack(env_overrides=env, logs=workdir, web_workers=WEB_WORKERS) as stack:
            key = site_key(stack.env | {"DJANGO_SETTINGS_MODULE": "config.settings"})
            address = urllib.parse.urlsplit(stack.url)
            yield stack, url, address.hostname, address.port, key


def run(workdir: Path, model_dir: Path) -> dict:
    texts = real_texts()
    unlimited = {"REPLYGUARD_RATE_AKISMET_CHARS": "1000000000/second"}
    with akismet_stack(workdir, model_dir, **unlimited) as (stack, url, host, port, key):
        posts = f"/api/articles/{SLUG}/comments/"
        # Warm every web process on the POST first: memory before any check.
        open_loop(host, port, posts, lambda n: post_body(texts, n + 10**6), rate=50, seconds=2)
        before = memory(stack)["web"]
        # Warm-up: each web process loads the model on its first check (about a second).
        warm = lambda n: check_form(key, texts, n + 10**6)  # noqa: E731
        open_loop(host, port, "/1.1/comment-check", warm, rate=20, seconds=3)
        figures = {
            "check": open_loop(host, port, "/1.1/comment-check",
                               lambda n: check_form(key, texts, n), rate=RATE, seconds=SECONDS),
            "post": open_loop(host, port, posts, lambda n: post_body(texts, n),
                              rate=RATE, seconds=SECONDS),
        }  # fmt: skip
        figures["memory_mb"] = {"web_before_checks": before, "web_after": memory(stack)["web"]}
        figures["wrk_check"] = wrk_check(f"{stack.url}/1.1/comment-check", key, texts, workdir)
        figures["wrk_post"] = wrk(f"{stack.url}{posts}", WRK_SECONDS, workdir)
        with psycopg.connect(url) as db:
            figures["checks_recorded"] = db.execute(
                "SELECT count(*), count(*) FILTER (WHERE spam) FROM moderation_externalcheck"
            ).fetchone()
        # With no budget for the text a key checks (as before it existed) ...
        figures["one_key_unlimited"] = reads_beside_one_key(host, port, key)
    # ... and with the default budget (REPLYGUARD_RATE_AKISMET_CHARS as settings.py sets it).
    with akismet_stack(workdir, model_dir) as (_, _, host, port, key):
        warm = lambda n: check_form(key, texts, n + 10**6)  # noqa: E731
        open_loop(host, port, "/1.1/comment-check", warm, rate=10, seconds=2)
        figures["one_key_at_its_limit"] = reads_beside_one_key(host, port, key)
    return figures


def document(results: dict) -> str:
    check, post = results["check"], results["post"]
    memory_mb = results["memory_mb"]
    grown = [
        round(a - b, 1)
        for a, b in zip(memory_mb["web_after"], memory_mb["web_before_checks"], strict=True)
    ]
    ok = "✓" if check["p99_ms"] <= TARGET_P99_MS else "✗"
    machine = results["machine"]
    lines = [
        "# The Akismet-compatible API: speed and memory",
        "",
        f"Written by `python bench/akismet.py` ({results['measured_at']}). Do not edit by hand. "
        f"Machine: {machine['cores']} cores, Python {machine['python']}; the load generator "
        "runs on the same cores. gunicorn with "
        f"{results['web_workers']} processes and a Celery worker, on PostgreSQL and Redis; "
        "texts from news-comments-dev and blog-spam-wordpress (four to one), each request a new "
        "reader.",
        "",
        "| figure | target | comment-check | comment POST |",
        "|---|---|---|---|",
        f"| p99 at {RATE} requests/s for {SECONDS} s (open loop) | ≤ {TARGET_P99_MS} ms "
        f"| {check['p99_ms']} ms {ok} | {post['p99_ms']} ms |",
        f"| p50 / slowest at {RATE} requests/s | | {check['p50_ms']} / {check['max_ms']} ms "
        f"| {post['p50_ms']} / {post['max_ms']} ms |",
        f"| answers at {RATE} requests/s (status: count) | | {check['statuses']} "
        f"| {post['statuses']} |",
        f"| most per second (wrk, 8 connections, {WRK_SECONDS} s) | "
        f"| {results['wrk_check']['per_second']}/s, p99 {results['wrk_check']['p99_ms']:.1f} ms "
        f"| {results['wrk_post']['per_second']}/s, p99 {results['wrk_post']['p99_ms']:.1f} ms |",
        "",
        "Memory, resident, per process (the gunicorn master first): "
        f"{memory_mb['web_before_checks']} MB before any check, {memory_mb['web_after']} MB "
        f"after; each web process that answers checks grows by {grown[1:]} MB (scikit-learn, "
        "SciPy and the model, loaded on its first check). That is the price of answering in the "
        "request: a hop to a Celery worker would keep the web processes at their size and add a "
        "broker round trip to every check.",
        "",
        "## One key at its limit",
        "",
        f"Readers' thread pages at {READS_RATE}/s for {READS_SECONDS} s (open loop), alone and "
        "while one key sends 5,000-character checks back to back from 8 connections:",
        "",
        "| | reads p50 | reads p99 | the key's answers (status: count) |",
        "|---|---|---|---|",
        *(
            f"| {label} | {r['reads_alone']['p50_ms']} → {r['reads_beside_the_key']['p50_ms']} ms "
            f"| {r['reads_alone']['p99_ms']} → {r['reads_beside_the_key']['p99_ms']} ms "
            f"| {r['key_answers']} |"
            for label, r in (
                ("no text budget (requests only)", results["one_key_unlimited"]),
                ("REPLYGUARD_RATE_AKISMET_CHARS default", results["one_key_at_its_limit"]),
            )
        ),
        "",
        f"Checks recorded: {results['checks_recorded'][0]}, of which "
        f"{results['checks_recorded'][1]} answered spam. "
        "Raw figures: `bench/results/akismet.json`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="a trained model folder to reuse")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replyguard-bench-") as tmp:
        workdir = Path(tmp)
        model_dir = args.model_dir or model_trained(workdir)
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "web_workers": WEB_WORKERS,
        }
        (workdir / "stack").mkdir()
        results |= run(workdir / "stack", model_dir)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    DOC.write_text(document(results))
    print(DOC.read_text())
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""What asking before posting costs a web process: memory and latency of the draft check.

    python bench/draft_check.py                      # trains an abuse model first (~15 s)
    python bench/draft_check.py --abuse-model-dir D  # or uses one

In a fresh process, as a gunicorn worker would be: the web side imported (URLs, admin), then the
first draft check (which loads the abuse model: scikit-learn and the artifact), then 500 more
through Django's test client (the view, the throttle, the model; no network). Writes
docs/draft-check-cost.md and bench/results/draft_check.json.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "draft-check-cost.md"
RESULTS = ROOT / "bench" / "results" / "draft_check.json"
CHECKS = 500

MEASURE = """
import json, os, resource, statistics, sys, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
import config.urls, moderation.admin  # the web side, as a web process has it
from articles.models import Article
from django.test import Client

def rss_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024

from django.utils import timezone
article = Article.objects.create(title="Bench", slug="bench", body="x", ask_before_posting=True,
                                 published_at=timezone.now())
client = Client(HTTP_HOST="localhost")
url = "/api/articles/bench/comment-draft/"
before = rss_mb()
began = time.perf_counter()
first = client.post(url, {"body": "You stupid idiot."}, content_type="application/json")
first_ms = (time.perf_counter() - began) * 1000
after = rss_mb()
texts = ["You are a pathetic moron.", "The council's budget leaves transit flat again."]
times = []
for i in range(int(sys.argv[1])):
    began = time.perf_counter()
    answer = client.post(url, {"body": texts[i % 2]}, content_type="application/json")
    times.append((time.perf_counter() - began) * 1000)
    assert answer.status_code == 200, answer.content
times.sort()
print(json.dumps({
    "first_answer": first.json(),
    "rss_mb_before_first_check": round(before, 1),
    "rss_mb_after_first_check": round(after, 1),
    "rss_mb_added": round(after - before, 1),
    "first_check_ms": round(first_ms, 1),
    "check_ms_p50": round(statistics.median(times), 2),
    "check_ms_p99": round(times[int(0.99 * len(times))], 2),
    "checks": len(times),
}))
"""


def abuse_model(folder: Path) -> Path:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REPLYGUARD_VAR_DIR": str(folder / "training"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "train_abuse_model", "--model-dir", str(folder / "abuse")],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return folder / "abuse"


def measure(model_dir: Path, folder: Path) -> dict:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REPLYGUARD_VAR_DIR": str(folder / "web"),
        "REPLYGUARD_ABUSE_MODEL_DIR": str(model_dir),
        "REPLYGUARD_RATE_DRAFT_CHECK": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(CHECKS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_doc(results: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    DOC.write_text(
        "\n".join(
            [
                "# What asking before posting costs (written by `python bench/draft_check.py`)",
                "",
                f"Last run: {results['measured_at']} on {machine}. A fresh web process with the",
                "URLs and the admin imported, then its first draft check (which loads the abuse",
                f"model), then {results['checks']} more through Django's test client.",
                "",
                "| | |",
                "|---|---|",
                f"| memory added by the first check (RSS) | {results['rss_mb_added']} MB "
                f"({results['rss_mb_before_first_check']} → "
                f"{results['rss_mb_after_first_check']} MB) |",
                f"| first check (loads the model) | {results['first_check_ms']} ms |",
                f"| a check, median / p99 | {results['check_ms_p50']} / "
                f"{results['check_ms_p99']} ms |",
                "",
                "The check is off by default (`REPLYGUARD_ASK_BEFORE_POSTING`, or per article). "
                "Where it is on, every web process that answers one carries the model: budget the "
                "memory above per gunicorn worker, or answer `/comment-draft/` from web processes "
                "of their own, as for the Akismet door (docs/deployment.md).",
                "",
            ]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--abuse-model-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model_dir = args.abuse_model_dir or abuse_model(folder)
        results = measure(model_dir, folder)
    results["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    write_doc(results)
    print(DOC.read_text())


if __name__ == "__main__":
    main()

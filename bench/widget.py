"""The readers' widget: what a page downloads, and how long a 200-comment thread takes to show.

    python bench/widget.py      # about a minute; needs Debian's Chromium

Size: embed.js and embed.css as served, gzipped (level 9, as a server or CDN would); the budget
is 12 KB together. Render: the embedded default (gunicorn, a worker) with 200 published comments
on the demo article, 20 threads of 10 (the first page a reader gets), loaded 7 times in headless
Chromium; the time from navigation start to the last of the 200 comments in the DOM, median and
slowest. Writes bench/results/widget.json and docs/widget-performance.md.
"""

import gzip
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.stack import manage, running_stack  # noqa: E402

STATIC = ROOT / "moderation" / "static" / "replyguard"
BUDGET_BYTES = 12 * 1024
LOADS = 7
SEED = """
from articles.models import Article
from moderation.models import Comment
from django.utils import timezone
article = Article.objects.first()
for t in range(20):
    top = Comment.objects.create(article=article, author_name=f"Reader {t}",
        author_email=f"r{t}@bench.example", body=f"Thread {t}: a point about the summit.\\n\\n"
        "And a second paragraph, with a link https://www.reuters.com/world/.",
        status="published", published_at=timezone.now())
    for r in range(9):
        Comment.objects.create(article=article, parent=top, thread=top, depth=1,
            author_name=f"Replier {t}.{r}", author_email=f"r{t}.{r}@bench.example",
            body=f"Reply {r} to thread {t}.", status="published", published_at=timezone.now())
"""


def sizes() -> dict:
    files = {name: (STATIC / name).read_bytes() for name in ("embed.js", "embed.css")}
    gzipped = {name: len(gzip.compress(data, compresslevel=9)) for name, data in files.items()}
    return {
        "bytes": {name: len(data) for name, data in files.items()},
        "gzipped": gzipped,
        "gzipped_total": sum(gzipped.values()),
        "budget": BUDGET_BYTES,
    }


def render_times(url: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        for _ in range(LOADS):
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('.rg-comment').length >= 200")
            times.append(page.evaluate("performance.now()"))
            page.close()
        browser.close()
    return times


def markdown(report: dict) -> str:
    size, render = report["size"], report["render_ms"]
    within = size["gzipped_total"] <= size["budget"]
    return "\n".join(
        [
            "# The readers' widget: size and render time",
            "",
            f"Written by `python bench/widget.py` ({report['measured_at']}, {report['machine']}). "
            "Do not edit by hand.",
            "",
            "| figure | target | measured |",
            "|---|---|---|",
            f"| embed.js + embed.css, gzipped | ≤ {size['budget']:,} bytes | "
            f"{size['gzipped_total']:,} bytes {'✓' if within else '✗'} "
            f"(js {size['gzipped']['embed.js']:,}, css {size['gzipped']['embed.css']:,}; "
            f"{size['bytes']['embed.js'] + size['bytes']['embed.css']:,} uncompressed) |",
            f"| a 200-comment thread (20 threads of 10) shown, from navigation | | "
            f"median {render['median']:.0f} ms, slowest {render['max']:.0f} ms of {LOADS} loads |",
            "",
            "The render time includes loading the demo page and the script, the form endpoint, "
            "the thread page from the API (the server's rendering of it too) and building the DOM, "
            "in headless Chromium on the same machine as the server.",
            "",
        ]
    )


def main() -> int:
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "size": sizes(),
    }
    with tempfile.TemporaryDirectory(prefix="replyguard-widget-") as tmp:
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "CELERY_BROKER_URL": "filesystem://localhost/",
            "REPLYGUARD_VAR_DIR": tmp,
            "REPLYGUARD_MODEL_DIR": f"{tmp}/models",
        }
        manage("collectstatic", "--noinput", "-v0", env=os.environ | env)
        with running_stack(env_overrides=env, logs=Path(tmp)) as stack:
            manage("shell", "-c", SEED, env=stack.env)
            times = render_times(f"{stack.url}/")
    report["render_ms"] = {"median": statistics.median(times), "max": max(times), "all": times}
    (ROOT / "bench" / "results" / "widget.json").write_text(json.dumps(report, indent=2) + "\n")
    (ROOT / "docs" / "widget-performance.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["size"]["gzipped_total"] <= BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())

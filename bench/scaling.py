"""Scaling out (issue 18): decisions per second with 1, 2 and 4 worker processes spread over
two Celery worker nodes, and comment POSTs per second with 1 and 2 web instances, all on one
PostgreSQL and one Redis; writes the sizing table of docs/deployment.md.

    python bench/scaling.py            # 30 s a POST run, a standing queue of 12,000
    python bench/scaling.py --quick    # 10 s, 5,000

Worker nodes are separate `celery worker` processes with their own hostnames (w1@host,
w2@host), as on two machines: N processes are N/2 on each node (1: one node). A web instance
is one gunicorn with BENCH_INSTANCE_PROCESSES processes (1), as one small machine: two
instances are two gunicorns on their own ports, each loaded by its own wrk with its own
readers. Every process shares this machine's cores with PostgreSQL, Redis and wrk, so a
factor here is a floor for machines of their own. Needs wrk (Debian package `wrk`).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    REDIS_CACHE_URL,
    REDIS_URL,
    SLUG,
    bench_env,
    machine,
    model_trained,
    post_script,
    scratch_postgres,
    worker_throughput,
    wrk,
)
from harness.stack import PYTHON, free_port, process, running_stack, wait_for  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scaling.json"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
INSTANCE_PROCESSES = int(os.environ.get("BENCH_INSTANCE_PROCESSES", "1"))
# (processes on node 1, processes on node 2) for 1, 2 and 4 worker processes.
WORKER_LAYOUTS = {1: (1,), 2: (1, 1), 4: (2, 2)}


def worker_scaling(stack, url: str, env: dict, queue: int) -> dict:
    """Decisions per second from a standing queue, for each layout of worker nodes."""
    for worker in list(stack.workers):
        if worker.poll() is None:
            stack.kill_worker(worker)
    figures = {}
    for processes, layout in WORKER_LAYOUTS.items():
        nodes = [stack.start_worker(concurrency=c) for c in layout]
        for index in range(len(stack.workers) - len(nodes), len(stack.workers)):
            log = stack.logs / f"worker-{index}.log"
            wait_for(lambda log=log: " ready." in log.read_text(), timeout=60, what="a node")
        figures[processes] = worker_throughput(url, env, comments=queue) | {"nodes": len(layout)}
        for node in nodes:
            stack.kill_worker(node)
    return figures


def web_scaling(stack, seconds: int, workdir: Path) -> dict:
    """POSTs per second through 1, then 2 web instances (workers stopped: they decide later).
    Each instance gets its own wrk, connections and readers."""
    figures = {}
    with ExitStack() as instances:
        urls = [web_instance(stack, instances, workdir) for _ in range(2)]
        readers = iter(range(1, 100))  # every wrk run its own readers, never floods
        for count in (1, 2):
            scripts = [post_script(readers=next(readers)) for _ in range(count)]
            with ThreadPoolExecutor(count) as pool:
                runs = list(
                    pool.map(
                        lambda u, script: wrk(
                            f"{u}/api/articles/{SLUG}/comments/", seconds, workdir, script
                        ),
                        urls[:count],
                        scripts,
                    )
                )
            figures[count] = {
                "per_second": sum(r["per_second"] for r in runs),
                "p99_ms": round(max(r["p99_ms"] for r in runs), 1),
                "errors": sum(r["errors"] for r in runs),
            }
    return figures


def web_instance(stack, instances: ExitStack, workdir: Path) -> str:
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}",
               "-w", str(INSTANCE_PROCESSES), "config.wsgi"]  # fmt: skip
    instances.enter_context(process(command, env=stack.env, log=workdir / f"web-{port}.log"))
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url), timeout=30, what="a web instance")
    return url


def _answers(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{url}/api/articles/", timeout=5) as answer:
        return answer.status == 200


def run(seconds: int, queue: int, workdir: Path) -> dict:
    model_dir = model_trained(workdir)
    with scratch_postgres() as url:
        env = bench_env(workdir / "pg", url, REDIS_URL, model_dir) | {"CACHE_URL": REDIS_CACHE_URL}
        (workdir / "pg").mkdir()
        with running_stack(env_overrides=env, logs=workdir / "pg", web_workers=1) as stack:
            workers = worker_scaling(stack, url, env, queue)
            web = web_scaling(stack, seconds, workdir)
            stack.start_worker()  # running_stack checks its last worker is alive at the end
    return {"workers": workers, "web": web}


def table(results: dict) -> list[tuple[str, str]]:
    workers, web = results["workers"], results["web"]
    one = max(1, workers["1"]["per_second"])
    rows = []
    for processes, figures in workers.items():
        rows.append(
            (
                f"worker decisions/s, {processes} process(es) on {figures['nodes']} node(s)",
                f"{figures['per_second']:,} ({figures['per_second'] / one:.2f}×)",
            )
        )
    single = max(1, web["1"]["per_second"])
    for count, figures in web.items():
        rows.append(
            (
                f"POST req/s, {count} web instance(s) of {results['instance_processes']} "
                "process(es)",
                f"{figures['per_second']:,} ({figures['per_second'] / single:.2f}×), "
                f"p99 {figures['p99_ms']} ms, {figures['errors']} errors",
            )
        )
    return rows


def sizing_section(results: dict) -> str:
    m = results["machine"]
    lines = [
        "<!-- sizing: written by `python bench/scaling.py`; do not edit by hand -->",
        f"Measured {results['measured_at']} by `python bench/scaling.py` on one machine of "
        f"{m['cores']} cores ({m['postgres']}; {m['redis'].split(' sha')[0]}), which every "
        "process shares with PostgreSQL, Redis and the load generator: a factor here is a "
        f"floor. Standing queue of {results['queue']:,} comments; POST runs of "
        f"{results['seconds']} s at 8 connections an instance.",
        "",
        "| setup | measured |",
        "|---|---|",
        *[f"| {setup} | {measured} |" for setup, measured in table(results)],
        "",
        *guide(results),
        "<!-- /sizing -->",
    ]
    return "\n".join(lines)


def guide(results: dict) -> list[str]:
    """Per process figures, and what a story drawing 50 comments a second needs."""
    worker = results["workers"]["1"]["per_second"]
    web = results["web"]["1"]["per_second"] / results["instance_processes"]
    return [
        f"Per process, from these figures: a worker process decides about {worker:,} "
        f"comments a second from a backlog, and a web process takes about {web:,.0f} comment "
        "POSTs a second with every check in force. A story drawing 50 comments a second needs "
        f"{50 / web:.2f} of a web process and {50 / worker:.2f} of a worker process for them; "
        "plan a core for each process and keep the rest as headroom for readers' page loads "
        "(a cached thread page or a 304 costs a fraction of a POST: see performance.md). "
        f"Processes past the cores a host has add little (here, {results['machine']['cores']} "
        f"cores: 4 worker processes decided {results['workers']['4']['per_second']:,} a second, "
        f"2 decided {results['workers']['2']['per_second']:,}): add hosts instead.",
    ]


def write_doc(results: dict) -> None:
    text = DEPLOYMENT_DOC.read_text()
    section = sizing_section(results)
    pattern = re.compile(r"<!-- sizing:.*?<!-- /sizing -->", re.S)
    if not pattern.search(text):
        sys.exit(f"{DEPLOYMENT_DOC.name} has no <!-- sizing: --> ... <!-- /sizing --> block")
    DEPLOYMENT_DOC.write_text(pattern.sub(lambda _: section, text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s POST runs, 5,000 queued")
    args = parser.parse_args()
    seconds, queue = (10, 5000) if args.quick else (30, 12000)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replyguard-scaling-") as tmp:
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "seconds": seconds,
            "queue": queue,
            "instance_processes": INSTANCE_PROCESSES,
            **run(seconds, queue, Path(tmp)),
        }
    results = json.loads(json.dumps(results))  # the layouts' keys as JSON has them
    for setup, measured in table(results):
        print(f"{setup:<58} {measured}")
    path = RESULTS if not args.quick else RESULTS.with_name("scaling-quick.json")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    if not args.quick:
        write_doc(results)
    print(f"({time.monotonic() - started:.0f} s; raw figures in {path.relative_to(ROOT)})")


if __name__ == "__main__":
    main()

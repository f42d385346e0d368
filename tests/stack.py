"""Start ReplyGuard as a user does, in subprocesses: migrate, load the demo, a web server and a
real Celery worker, all on the database and broker named by the environment given."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for(check, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@contextmanager
def process(args: list[str], *, env: dict, log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def manage(*args: str, env: dict) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT, env=env, check=True,
                   capture_output=True)


@contextmanager
def running_stack(*, env_overrides: dict, logs: Path, web: str, worker_args: tuple = ()):
    """Yield the base URL of a running API with a real worker behind it.

    `web` is "runserver" (the README's run command) or "gunicorn" (production).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_TASK_ALWAYS")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1", **env_overrides}
    manage("migrate", "--noinput", env=env)
    manage("load_demo", env=env)
    port = free_port()
    web_command = {
        "runserver": [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        "gunicorn": [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
    }[web]
    worker_command = [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency", "2",
                      "--loglevel", "INFO", *worker_args]
    base_url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        worker = stack.enter_context(process(worker_command, env=env, log=logs / "worker.log"))
        server = stack.enter_context(process(web_command, env=env, log=logs / "web.log"))
        try:
            wait_for(lambda: http("GET", f"{base_url}/api/articles/")[0] == 200,
                     timeout=30, what="the API to answer")
            yield base_url
        except BaseException:
            for name in ("worker.log", "web.log"):
                print(f"--- {name} ---\n" + (logs / name).read_text()[-4000:])
            raise
        finally:
            assert worker.poll() is None, "the worker died during the test"
            assert server.poll() is None, "the web server died during the test"


@contextmanager
def redis_server(*, port: int, logs: Path):
    """A Redis of our own on `port`, so a test can stop and restart the broker."""
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(logs)]
    with process(args, env=dict(os.environ), log=logs / f"redis-{port}.log") as proc:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True,
                 timeout=10, what=f"redis-server on port {port}")
        yield proc

"""Start ReplyGuard as a user does, in subprocesses: migrate, load the demo, a web server and a
real Celery worker, all on the database and broker named by the environment given."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# The service refuses its built-in key outside the embedded default on localhost: a run on
# PostgreSQL, or answering another host name, gets a key of its own, as production does.
SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)


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
        # A session of its own, so a test can kill the process with all its children.
        proc = subprocess.Popen(
            args, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def manage(*args: str, env: dict) -> str:
    """Run a management command; returns what it printed."""
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=PROJECT, env=env, check=True, capture_output=True
    ).stdout.decode()


class Stack:
    """A running API at `url` with real Celery workers behind it; workers can be killed and
    started while it runs."""

    def __init__(self, *, env: dict, logs: Path, processes: ExitStack, worker_args: tuple):
        self.env, self.logs, self.processes, self.worker_args = env, logs, processes, worker_args
        self.url = ""
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def start_worker(self, concurrency: int = 2, env: dict | None = None) -> subprocess.Popen:
        """A Celery worker on the stack's environment (`env` on top of it)."""
        args = [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--hostname",
            f"w{len(self.workers)}@%h",
            *self.worker_args,
        ]
        log = self.logs / f"worker-{len(self.workers)}.log"
        worker = self.processes.enter_context(process(args, env=self.env | (env or {}), log=log))
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool processes, mid-task or not."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def print_logs(self) -> None:
        for log in sorted(self.logs.glob("*.log")):
            print(f"--- {log.name} ---\n" + log.read_text()[-4000:])


def gunicorn_command(port: int, workers: int, *options: str) -> list[str]:
    """The web server as `make run` and production start it, on 127.0.0.1:`port`."""
    bind = f"127.0.0.1:{port}"
    return [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "-b", bind,
            "-w", str(workers), *options, "config.wsgi"]  # fmt: skip


def embedded_env(var_dir: Path, **settings: str) -> dict:
    """This environment less any server or ReplyGuard setting: the embedded default (SQLite,
    the filesystem broker) under `var_dir`, with `settings` on top."""
    servers = ("DATABASE_URL", "CELERY_", "CACHE_URL", "REPLYGUARD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(servers)}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "REPLYGUARD_VAR_DIR": str(var_dir)}
    return env | settings


@contextmanager
def web_alone(env: dict, log: Path, *, workers: int = 2, options: tuple = ()):
    """Migrate, then gunicorn without a worker; yield (its process, its URL) once it answers."""
    manage("migrate", "--noinput", env=env)
    port = free_port()
    with process(gunicorn_command(port, workers, *options), env=env, log=log) as server:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http("GET", f"{url}/api/articles/")[0] == 200, timeout=60, what="web")
        yield server, url


def make_run_serving(run: subprocess.Popen, port: int, log: Path) -> bool:
    """Whether `make run` (process `run`, printing to `log`) answers on `port` with its worker
    ready; fails at once if make has stopped."""
    if run.poll() is not None:
        raise AssertionError(f"make run stopped ({run.returncode}):\n{log.read_text()[-4000:]}")
    api = http("GET", f"http://127.0.0.1:{port}/api/articles/")[0] == 200
    return api and " ready." in log.read_text()


@contextmanager
def running_stack(
    *, env_overrides: dict, logs: Path, worker_args: tuple = (), web_workers: int = 2
):
    """Migrate, load the demo, start the web server and one worker; yield the Stack.

    The web server is gunicorn with `web_workers` processes, as `make run` and production
    start it. bench/load.py starts the production shape with it too.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_TASK_ALWAYS")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": SECRET_KEY,
        **env_overrides,
    }
    manage("migrate", "--noinput", env=env)
    manage("load_demo", env=env)
    port = free_port()
    web_command = gunicorn_command(port, web_workers)
    with ExitStack() as processes:
        stack = Stack(env=env, logs=logs, processes=processes, worker_args=worker_args)
        stack.start_worker()
        server = processes.enter_context(process(web_command, env=env, log=logs / "web.log"))
        stack.web, stack.url = server, f"http://127.0.0.1:{port}"
        try:
            wait_for(
                lambda: http("GET", f"{stack.url}/api/articles/")[0] == 200,
                timeout=30,
                what="the API to answer",
            )
            # Load that starts before the worker consumes would time its start-up, not it.
            worker_log = logs / "worker-0.log"
            wait_for(lambda: " ready." in worker_log.read_text(), timeout=60, what="the worker")
            yield stack
            assert stack.workers[-1].poll() is None, "the worker died during the test"
            assert server.poll() is None, "the web server died during the test"
        except BaseException:
            stack.print_logs()
            raise


@contextmanager
def redis_server(*, port: int, logs: Path):
    """A Redis of our own on `port`, so a test can stop and restart the broker."""
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(logs),
    ]
    with process(args, env=dict(os.environ), log=logs / f"redis-{port}.log") as proc:
        wait_for(
            lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True,
            timeout=10,
            what=f"redis-server on port {port}",
        )
        yield proc


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_port`; stop() cuts every connection, as a server
    going away would, and start() lets new ones through again."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        for sock in [self.listener, *self.sockets]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def silence(self) -> None:
        """Cut every connection, then accept new ones and never answer: a hung server."""
        self.stop()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._hold, args=(self.listener,), daemon=True).start()

    def _hold(self, listener: socket.socket) -> None:
        with suppress(OSError):
            while True:
                self.sockets.append(listener.accept()[0])

    def _accept(self, listener: socket.socket) -> None:
        with suppress(OSError):
            while True:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
                self.sockets += [client, server]
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

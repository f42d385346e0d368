"""`make run`, as a newcomer uses it: it starts, and Ctrl-C stops everything it started."""

import os
import signal
import socket
import subprocess
import time

import pytest

from harness.stack import PROJECT, free_port, http, wait_for

pytestmark = pytest.mark.e2e

ROUNDS = 10
STOP_SECONDS = 10


def embedded_env(tmp_path, model_dir) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "REPLYGUARD_"))
    }
    env |= {"REPLYGUARD_VAR_DIR": str(tmp_path), "REPLYGUARD_MODEL_DIR": str(model_dir)}
    return env | {"REPLYGUARD_FLOOD_SECONDS": "0", "REPLYGUARD_DUPLICATE_WINDOW_HOURS": "0"}


def group_alive(pgid: int, leader: subprocess.Popen) -> bool:
    leader.poll()  # reap make itself: a zombie still counts as a member of the group
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_ctrl_c_stops_everything_make_run_started_ten_times_in_a_row(tmp_path, trained_model_dir):
    env, port = embedded_env(tmp_path, trained_model_dir), free_port()
    for round_ in range(ROUNDS):
        log = tmp_path / f"run-{round_}.log"

        def serving(log=log) -> bool:
            api = http("GET", f"http://127.0.0.1:{port}/api/articles/")[0] == 200
            return api and " ready." in log.read_text()

        with log.open("wb") as out:
            # A session of its own: the terminal's foreground process group, as when typed.
            run = subprocess.Popen(
                ["make", "run", f"PORT={port}"],
                cwd=PROJECT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(serving, timeout=120, what=f"make run to serve (round {round_})")
            # Comments just posted: the worker is scoring when Ctrl-C comes (warm shutdown).
            [article] = http("GET", f"http://127.0.0.1:{port}/api/articles/")[1]["results"]
            for n in range(5):
                http(
                    "POST",
                    f"http://127.0.0.1:{port}/api/articles/{article['slug']}/comments/",
                    {"author_name": "Mina", "author_email": "m@example.org", "body": f"Take {n}."},
                )
            os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
            deadline = time.monotonic() + STOP_SECONDS
            while group_alive(run.pid, run) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = subprocess.run(
                ["ps", "-o", "pid,args", "--no-headers", "-g", str(run.pid)],
                capture_output=True,
                text=True,
            ).stdout
            assert not group_alive(run.pid, run), f"round {round_}: still running:\n{left}"
        finally:
            if group_alive(run.pid, run):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "run", f"PORT={port}"],
            cwd=PROJECT,
            env=embedded_env(tmp_path, tmp_path / "models"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is in use" in result.stdout + result.stderr
    assert "API:" not in result.stdout  # no banner for a server that will not start

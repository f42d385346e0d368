"""`make run`, as a newcomer uses it: it starts, and Ctrl-C stops everything it started."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.stack import PROJECT, embedded_env, free_port, http, make_run_serving, wait_for

pytestmark = pytest.mark.e2e

ROUNDS = 3  # each round starts the whole service (~15 s)
STOP_SECONDS = 10


def run_env(tmp_path, model_dir) -> dict:
    return embedded_env(
        tmp_path,
        REPLYGUARD_MODEL_DIR=str(model_dir),
        REPLYGUARD_FLOOD_SECONDS="0",
        REPLYGUARD_DUPLICATE_WINDOW_HOURS="0",
    )


def session_processes(sid: int, leader: subprocess.Popen) -> str:
    """What still runs in the session make leads (the processes it started sit in process
    groups of their own inside it)."""
    leader.poll()  # reap make itself: a zombie still counts as a member
    return subprocess.run(
        ["ps", "-o", "pid,stat,args", "--no-headers", "-s", str(sid)],
        capture_output=True,
        text=True,
    ).stdout


def still_running(sid: int, leader: subprocess.Popen) -> str:
    return "\n".join(
        line for line in session_processes(sid, leader).splitlines() if line.split()[1][0] != "Z"
    )


def make_run(port: int, env: dict, log) -> subprocess.Popen:
    # A session of its own: the terminal's foreground process group, as when typed.
    return subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_serving(run: subprocess.Popen, port: int, log: Path, what: str) -> None:
    wait_for(lambda: make_run_serving(run, port, log), timeout=120, what=what)


def post_comments(port: int) -> None:
    # Comments just posted: the worker is scoring when the signal comes (warm shutdown).
    [article] = http("GET", f"http://127.0.0.1:{port}/api/articles/")[1]["results"]
    for n in range(5):
        http(
            "POST",
            f"http://127.0.0.1:{port}/api/articles/{article['slug']}/comments/",
            {"author_name": "Mina", "author_email": "m@example.org", "body": f"Take {n}."},
        )


def stopped_within(seconds: float, run: subprocess.Popen) -> str:
    """'' once everything make started has stopped, else what still runs after `seconds`."""
    deadline = time.monotonic() + seconds
    while still_running(run.pid, run) and time.monotonic() < deadline:
        time.sleep(0.1)
    return still_running(run.pid, run)


def kill_session(run: subprocess.Popen) -> None:
    subprocess.run(["pkill", "-KILL", "-s", str(run.pid)], check=False)
    run.wait()


def test_ctrl_c_stops_everything_make_run_started_three_times_in_a_row(tmp_path, trained_model_dir):
    env, port = run_env(tmp_path, trained_model_dir), free_port()
    for round_ in range(ROUNDS):
        log = tmp_path / f"run-{round_}.log"
        with log.open("wb") as out:
            run = make_run(port, env, out)
        try:
            wait_until_serving(run, port, log, f"make run to serve (round {round_})")
            post_comments(port)

            os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group

            left = stopped_within(STOP_SECONDS, run)
            assert not left, f"round {round_}: still running:\n{left}"
        finally:
            kill_session(run)


@pytest.mark.parametrize(
    "sent", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"]
)
def test_a_signal_to_makes_own_process_stops_everything_it_started(
    tmp_path, trained_model_dir, sent
):
    # What a supervisor or `kill <pid>` sends: make alone is signalled, and passes on only
    # SIGTERM; the others leave it waiting for its recipe.
    env, port, log = run_env(tmp_path, trained_model_dir), free_port(), tmp_path / "run.log"
    with log.open("wb") as out:
        run = make_run(port, env, out)
    try:
        wait_until_serving(run, port, log, "make run to serve")
        post_comments(port)

        os.kill(run.pid, sent)

        left = stopped_within(STOP_SECONDS, run)
        assert not left, f"still running:\n{left}\n{log.read_text()[-2000:]}"
    finally:
        kill_session(run)


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "run", f"PORT={port}"],
            cwd=PROJECT,
            env=run_env(tmp_path, tmp_path / "models"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is in use" in result.stdout + result.stderr
    assert "API:" not in result.stdout  # no banner for a server that will not start

"""What `make run` runs once set up: the web server (gunicorn, as in production) and a Celery
worker with beat, started and stopped together.

    python harness/run.py HOST:PORT

Stops both on SIGINT, SIGTERM or SIGHUP, or when either stops. make passes SIGTERM on to its
recipe but never SIGINT: after `kill -INT <make's pid>` (a supervisor, a script that started
`make run &`) make waits for its recipe forever. Its handler puts SIGINT back to the default
before it waits, so this process also watches the signals make catches (Linux's /proc) and stops
when SIGINT leaves them, or when make is gone.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A warm shutdown lets the worker finish the batch in hand (well under a second), then it is
# killed: 8 s leaves make time to go within the 10 s a supervisor is promised.
STOP_SECONDS = 8
POLL_SECONDS = 0.2
BIN = Path(sys.executable).parent
SIGINT_BIT = 1 << (signal.SIGINT - 1)


def commands(bind: str) -> dict[str, list[str]]:
    return {
        "worker": [str(BIN / "celery"), "-A", "config", "worker", "--beat",
                   "--loglevel", "INFO", "--concurrency", "2"],
        "web": [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "-b", bind,
                "--access-logfile", "-", "config.wsgi"],
    }  # fmt: skip


def caught_signals(pid: int) -> int | None:
    """The mask of signals `pid` handles, or None where /proc cannot tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("SigCgt:")), None)
    return int(line.split()[1], 16) if line else None


def parent_is_stopping(parent: int, watched: bool) -> bool:
    if os.getppid() != parent:  # the parent is gone: we were handed to init
        return True
    return watched and not (caught_signals(parent) or 0) & SIGINT_BIT


def main(bind: str) -> int:
    stop_asked = []
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda number, frame: stop_asked.append(number))
    parent = os.getppid()
    watched = bool((caught_signals(parent) or 0) & SIGINT_BIT)
    # Each in a process group of its own: a stop signals the worker's main process, which
    # winds down its pool (signalled directly, the pool's children would die mid-shutdown).
    running = {
        name: subprocess.Popen(args, process_group=0) for name, args in commands(bind).items()
    }
    while not stop_asked and not parent_is_stopping(parent, watched):
        if any(process.poll() is not None for process in running.values()):
            print("One of the two stopped: stopping the other.", flush=True)
            break
        time.sleep(POLL_SECONDS)
    stop(running)
    return 130 if stop_asked else 0


def stop(running: dict[str, subprocess.Popen]) -> None:
    for process in running.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for process in running.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever the group still holds (a pool child that outlived its parent)
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

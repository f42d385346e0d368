"""What `make run` runs once set up: the web server (gunicorn, as in production) and a Celery
worker with beat, started and stopped together.

    python harness/run.py HOST:PORT

Stops both on SIGINT, SIGTERM, SIGHUP or SIGQUIT, or when either stops. make passes SIGTERM on
to its recipe but not SIGINT, SIGHUP or SIGQUIT: sent to make's own pid (a supervisor, `kill`),
those leave make waiting for its recipe forever. make's handler puts the signal back to its
default before it waits, so while make is our parent we watch the signals it handles (Linux's
/proc): one it neither handles nor ignores means make is stopping, and so do we.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A warm shutdown lets the worker finish the batch in hand (it takes about 7 s with beat), then
# it is killed: 8 s leaves make time to go within the 10 s a supervisor is promised.
STOP_SECONDS = 8
POLL_SECONDS = 0.2
BIN = Path(sys.executable).parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def commands(bind: str) -> dict[str, list[str]]:
    return {
        "worker": [str(BIN / "celery"), "-A", "config", "worker", "--beat",
                   "--loglevel", "INFO", "--concurrency", "2"],
        "web": [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "-b", bind,
                "--access-logfile", "-", "config.wsgi"],
    }  # fmt: skip


def signal_masks(pid: int) -> dict[str, int] | None:
    """The signals `pid` handles (SigCgt) and ignores (SigIgn), or None where /proc cannot tell."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {name: int(fields[name], 16) for name in ("SigCgt", "SigIgn") if name in fields}


def make_is_stopping(parent: int) -> bool:
    """make handles every stop signal it does not ignore, until one arrives."""
    masks = signal_masks(parent)
    if not masks or len(masks) < 2:
        return False
    bits = [1 << (number - 1) for number in STOP_SIGNALS]
    return any(not bit & (masks["SigCgt"] | masks["SigIgn"]) for bit in bits)


def parent_is_make(parent: int) -> bool:
    try:
        return Path(f"/proc/{parent}/comm").read_text().strip() in ("make", "gmake")
    except OSError:
        return False


def main(bind: str) -> int:
    stop_asked = []
    for number in STOP_SIGNALS:
        signal.signal(number, lambda number, frame: stop_asked.append(number))
    parent = os.getppid()
    watch_make = parent_is_make(parent)
    # Each in a process group of its own: a stop signals the worker's main process, which
    # winds down its pool (signalled directly, the pool's children would die mid-shutdown).
    running = {}
    try:
        for name, args in commands(bind).items():
            running[name] = subprocess.Popen(args, process_group=0)
        while not stop_asked:
            if os.getppid() != parent or (watch_make and make_is_stopping(parent)):
                return 128 + signal.SIGTERM
            if any(process.poll() is not None for process in running.values()):
                print("One of the two stopped: stopping the other.", flush=True)
                return 1
            time.sleep(POLL_SECONDS)
        return 128 + stop_asked[0]
    finally:
        stop(running)


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
        except OSError:
            pass
        process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

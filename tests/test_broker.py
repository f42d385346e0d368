"""The embedded default's broker (config/broker.py): a worker polling the folder while the web
process writes never reads half a message."""

import builtins
import threading
import time

import kombu
from kombu.transport import filesystem

from config import broker

MESSAGES = 50


def slow_open(*args, **kwargs):
    """open() on a slow disk: each write takes a moment to land."""
    file = builtins.open(*args, **kwargs)
    write = file.write

    def slow_write(data):
        time.sleep(0.005)
        return write(data)

    file.write = slow_write
    return file


def test_a_consumer_racing_the_producer_reads_every_message_whole(tmp_path, monkeypatch):
    # Upstream's transport fails this: the consumer reads a created, not yet written file.
    monkeypatch.setattr(broker, "open", slow_open, raising=False)
    monkeypatch.setattr(filesystem, "open", slow_open, raising=False)
    # Every folder in tmp_path: the control folder (exchange bindings) defaults to ./control.
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    options["control_folder"] = str(tmp_path / "control")
    received = []

    def connect():
        return kombu.Connection(
            "filesystem://", transport="config.broker:Transport", transport_options=options
        )

    def produce():
        with connect() as connection:
            queue = connection.SimpleQueue("race")
            for n in range(MESSAGES):
                queue.put({"n": n})

    producer = threading.Thread(target=produce)
    producer.start()
    with connect() as connection:
        channel = connection.default_channel  # the worker's way in: errors are not swallowed
        deadline = time.monotonic() + 30
        while len(received) < MESSAGES and time.monotonic() < deadline:
            message = channel.basic_get("race", no_ack=True)
            if message is not None:
                received.append(message.payload["n"])
    producer.join()

    assert sorted(received) == list(range(MESSAGES))

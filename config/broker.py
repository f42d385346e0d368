"""Two kombu transports with an upstream crash fixed: the embedded default's filesystem
transport, with each message written under a temporary name and renamed into place when
complete; and Redis, whose worker survives the broker dying (RedisQoS below).

Upstream creates a message's file and then writes it, so a worker listing the folder in between
reads an empty message and stops with "Unrecoverable error: JSONDecodeError" (celery/kombu#1551;
seen here at ~100 comments/s). A rename is atomic: a reader sees the whole message or none.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The name upstream gives it: consumers pick up files named "<time>_<uuid>.<queue>.msg".
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        writing = final + ".writing"  # not "<queue>.msg": consumers skip it
        try:
            with open(writing, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(writing, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


class RedisQoS(redis.QoS):
    def restore_unacked(self, client=None):
        """kombu's, except that a broker already gone does not crash the worker. When Redis
        dies, the consumer closes its channel, and closing re-queues the messages the worker
        holds (a task waiting for its countdown, one running under acks_late) through a
        connection already torn down: AttributeError on `conninfo.hostname`, "Unrecoverable
        error", and the worker exits (the class of celery/kombu#582 and #970; seen here with
        kombu 5.7). Those messages are only wake-ups: the comments are pending rows, and the
        sweep rings for them once the broker is back."""
        try:
            super().restore_unacked(client)
        except (AttributeError, RedisError) as error:
            lost = len(self._delivered)
            logger.warning("Broker gone: %d task(s) not re-queued (%r)", lost, error)
            self._delivered.clear()

    def ack(self, delivery_tag):
        """kombu's, except on a channel the broker's death already closed: a task that was
        running then (acks_late) finishes after the reconnection and acks through the old
        channel, whose connection is gone (AttributeError on `connection.client`, the worker
        exits). Its message went with the old broker: there is nothing left to ack."""
        try:
            super().ack(delivery_tag)
        except (AttributeError, RedisError) as error:
            logger.warning("Broker gone: a finished task's message not acked (%r)", error)

    def reject(self, delivery_tag, requeue=False):
        try:
            super().reject(delivery_tag, requeue=requeue)
        except (AttributeError, RedisError) as error:
            logger.warning("Broker gone: a task's message not rejected (%r)", error)


class RedisChannel(redis.Channel):
    QoS = RedisQoS


class RedisTransport(redis.Transport):
    Channel = RedisChannel

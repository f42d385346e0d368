"""The embedded default's broker: kombu's filesystem transport, with each message written under
a temporary name and renamed into place when complete.

Upstream creates a message's file and then writes it, so a worker listing the folder in between
reads an empty message and stops with "Unrecoverable error: JSONDecodeError" (celery/kombu#1551;
seen here at ~100 comments/s). A rename is atomic: a reader sees the whole message or none.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


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

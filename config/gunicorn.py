"""gunicorn's settings, for `make run` and production alike:
    gunicorn -c config/gunicorn.py -b 0.0.0.0:8000 config.wsgi
Processes: WEB_CONCURRENCY (gunicorn's own variable; 2 here, about one per core)."""

import json
import os

from gunicorn import util

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Access lines (`--access-logfile -`, as `make run` asks) cost ~15% of a cached read: off
# unless asked. Without the client's address (%(h)s): a reader's IP never reaches a log line.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'


def write_error_as_json(sock, status_int, reason, mesg):
    """What gunicorn answers itself, before Django sees the request (a request line over 4,094
    bytes is 414, oversized headers 431, a malformed request 400), in JSON naming the problem by
    its HTTP reason: gunicorn's own page is HTML and quotes the request line back."""
    body = json.dumps({"detail": f"{reason}."}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# The workers call util.write_error for these; gunicorn has no setting for its error body.
util.write_error = write_error_as_json

# gunicorn 25+ opens a control socket for `gunicornc`, by default in the user's home, shared
# with every other gunicorn there: nothing here uses it.
control_socket_disable = True

"""gunicorn's settings, for `make run` and production alike:
    gunicorn -c config/gunicorn.py -b 0.0.0.0:8000 config.wsgi
Processes: WEB_CONCURRENCY (gunicorn's own variable; 2 here, about one per core)."""

import json
import os

from gunicorn import util

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Access lines (`--access-logfile -`, as `make run` asks) cost ~15% of a cached read: off
# unless asked. Without the client's address (%(h)s), and the path without its query (%(U)s,
# not the request line %(r)s): an Akismet client's key, email and IP and a comment's receipt
# can travel in the query, and none of them may reach a log line.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


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


def on_starting(server):
    """Where the Akismet-compatible API is on, load the active spam model here, in the master,
    before it forks: every web process starts with it in (copy-on-write) memory, so the first
    check after start-up answers as fast as the others (loaded on that check, it took 8 s and
    timed out a client's default 5 s). The comment API and the admin never load it."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings

    # getattr: bench/bare_drf serves with these gunicorn settings and settings of its own.
    if getattr(settings, "REPLYGUARD_AKISMET_API", False):
        from moderation import spam

        model = spam.active_model()
        loaded = f"spam model {model.version}" if model else "no spam model (none is active)"
        server.log.info("Akismet-compatible API: %s loaded before forking", loaded)
    # Likewise the abuse model where every article asks before posting (the draft check).
    if getattr(settings, "REPLYGUARD_ASK_BEFORE_POSTING", False):
        from moderation import abuse

        model = abuse.active_model()
        loaded = f"abuse model {model.version}" if model else "no abuse model (none is active)"
        server.log.info("Ask before posting: %s loaded before forking", loaded)


# gunicorn 25+ opens a control socket for `gunicornc`, by default in the user's home, shared
# with every other gunicorn there: nothing here uses it.
control_socket_disable = True

"""gunicorn's settings, for `make run` and production alike:
    gunicorn -c config/gunicorn.py -b 0.0.0.0:8000 config.wsgi
Processes: WEB_CONCURRENCY (gunicorn's own variable; 2 here, about one per core)."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Access lines (`--access-logfile -`, as `make run` asks) cost ~15% of a cached read: off
# unless asked. Without the client's address (%(h)s): a reader's IP never reaches a log line.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'

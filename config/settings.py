"""ReplyGuard settings: one module, driven by environment variables.

With no environment at all it runs the embedded default (SQLite and kombu's filesystem broker
under ./var/). Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, DEBUG and
ALLOWED_HOSTS; see the README.
"""

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Everything the embedded default writes: the SQLite file, the broker's folders, model artifacts.
VAR_DIR = Path(env("REPLYGUARD_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# The fallback key is for the embedded default on this machine only (see the check below
# DATABASES); `manage.py check --deploy` flags it too (security.W009).
LOCAL_ONLY_SECRET_KEY = "django-insecure-replyguard-local-only-never-deploy-this"
SECRET_KEY = env("SECRET_KEY", default=LOCAL_ONLY_SECRET_KEY)
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=LOCAL_HOSTS)

# Behind HTTPS in production: HTTPS=true turns on redirects, secure cookies and HSTS, so that
# `manage.py check --deploy` passes. Off by default: the embedded default serves plain http.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("BEHIND_TLS_PROXY", default=False):
    # The proxy terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "articles",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-cors-headers' middleware, matching origins exactly; before CommonMiddleware, as
    # its docs ask.
    "moderation.middleware.CanonicalOriginCorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "moderation.middleware.ServiceUnavailableMiddleware",
]
MIDDLEWARE.insert(0, "moderation.middleware.RequestSizeLimitMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'replyguard.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The API and the worker write to one file: WAL lets readers run beside a writer, and
    # IMMEDIATE transactions queue writers instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A server that accepts connections and never answers must cost a request seconds, not
    # the 30 s until gunicorn kills its worker: the request then answers 503 JSON.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=env.int("REPLYGUARD_DB_CONNECT_TIMEOUT", default=5),
        options="-c statement_timeout={}".format(
            env.int("REPLYGUARD_DB_STATEMENT_TIMEOUT_MS", default=15000)
        ),
    )

# Anyone who knows the fallback key can forge form tokens and admin sessions: refuse to start
# with it anywhere but the embedded default (SQLite) answering only this machine's names.
if SECRET_KEY == LOCAL_ONLY_SECRET_KEY and (
    not set(ALLOWED_HOSTS) <= set(LOCAL_HOSTS)
    or DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: the built-in key is only for the embedded default on localhost. "
        "Set SECRET_KEY (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate-limit counters. Per process by default; production: CACHE_URL=redis://host:6379/1
# (a database of its own, apart from the broker's).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Whether every process (web and worker) shares the cache: what one process writes there is
# then news to all (moderation.cache caches thread versions only then).
REPLYGUARD_CACHE_SHARED = (
    CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache"
)
# A Redis cache that is down or hangs must cost a request at most this long (seconds): the
# public API then goes on without it (moderation/cache.py).
REPLYGUARD_CACHE_TIMEOUT = env.float("REPLYGUARD_CACHE_TIMEOUT", default=0.5)
REPLYGUARD_REDIS_CACHE_OPTIONS = {
    "socket_connect_timeout": REPLYGUARD_CACHE_TIMEOUT,
    "socket_timeout": REPLYGUARD_CACHE_TIMEOUT,
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update(REPLYGUARD_REDIS_CACHE_OPTIONS)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start while it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Public REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The public API is anonymous and needs no cookies (so no CSRF either); staff use the admin.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["moderation.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No OPTIONS self-description: /api/schema/ is the description, and DRF's metadata walk
    # recurses forever on the self-nesting comment thread (found by schemathesis).
    "DEFAULT_METADATA_CLASS": None,
    # How many proxies sit in front of the app; the client IP is read behind them.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ReplyGuard public API",
    "DESCRIPTION": (
        "Comments and threaded replies under news articles. New comments are accepted as "
        "pending and published only after spam scoring or a moderator's decision."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ------------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: producers and consumers share one folder, no server needed.
    # Ours writes each message whole before a worker can see it (see config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "control_folder": str(BROKER_FOLDER / "control"),
        # Seconds between looks at the folder when it is empty (kombu's default is 1 s).
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.1),
    }
    # The transport expects its folders to exist.
    for folder in ("queue", "control"):
        (BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)
else:
    # Short socket timeouts: a POST must not hang on a dead broker (the comment is already saved).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
        "socket_connect_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
        # Redis re-delivers an unacknowledged task after this long (acks_late below).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "config.broker:RedisTransport"  # survives Redis dying
# After a failed publish a process leaves the broker alone this long (seconds): the pending
# comment is rung for by the sweep (REPLYGUARD_REQUEUE_EVERY) once the broker is back.
REPLYGUARD_BROKER_RETRY_AFTER = env.float("REPLYGUARD_BROKER_RETRY_AFTER", default=30.0)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Scoring is idempotent (it only acts on a pending comment), so acknowledge after the work:
# a worker that dies mid-task leaves the message to be delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)

# Periodic tasks (run `celery -A config beat`, or the worker with -B as `make run` does).
REPLYGUARD_REQUEUE_EVERY = env.float("REPLYGUARD_REQUEUE_EVERY", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-pending-comments": {
        "task": "moderation.tasks.stale_pending_requeue_task",
        "schedule": REPLYGUARD_REQUEUE_EVERY,
        # A sweep that could not run in time is superseded by the next one.
        "options": {"expires": REPLYGUARD_REQUEUE_EVERY},
    },
}
CELERY_BEAT_SCHEDULE["truncate-old-ip-addresses"] = {
    "task": "moderation.tasks.ip_retention_task",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# Moderators following an article get one digest of its newly held comments per interval.
REPLYGUARD_DIGEST_EVERY = env.float("REPLYGUARD_DIGEST_EVERY", default=3600.0)
CELERY_BEAT_SCHEDULE["held-comments-digest"] = {
    "task": "moderation.tasks.held_digest_send_task",
    "schedule": REPLYGUARD_DIGEST_EVERY,
    "options": {"expires": REPLYGUARD_DIGEST_EVERY},
}
CELERY_BEAT_SCHEDULE["storms-calm"] = {
    "task": "moderation.tasks.storms_calm_task",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- ReplyGuard --------------------------------------------------------------------------------
REPLYGUARD_MODEL_DIR = Path(env("REPLYGUARD_MODEL_DIR", default=str(VAR_DIR / "models")))
# What the models train on: the data sets shipped in the repository (datasets/README.md), or a
# newsroom's own folder of the same layout.
REPLYGUARD_DATASETS_DIR = Path(env("REPLYGUARD_DATASETS_DIR", default=str(BASE_DIR / "datasets")))
# Evaluation-only data that may not ship (news-comments-dev/: SFU, CC BY-NC-SA): read where
# present, by default from a `shared/datasets/` folder beside the project; training skips it
# with a note where it is absent (docs/data.md says where to get it).
REPLYGUARD_EVALUATION_DATASETS_DIR = Path(
    env(
        "REPLYGUARD_EVALUATION_DATASETS_DIR",
        default=str(BASE_DIR.parent / "shared" / "datasets"),
    )
)
# Default policy, overridable per article: publish below one spam probability, file as spam at
# or above another, hold for a moderator in between. Chosen on real news comments (see README).
REPLYGUARD_PUBLISH_BELOW = env.float("REPLYGUARD_PUBLISH_BELOW", default=0.70)
REPLYGUARD_SPAM_ABOVE = env.float("REPLYGUARD_SPAM_ABOVE", default=0.99)
# The abuse model (moderation/abuse/), overridable per article: hold at or above one abuse
# probability; reject at or above another, unseen, only if set (off by default: a model's
# reading of tone is for a moderator to confirm). 0.4 holds 1.5% of the news comments rated not
# toxic (docs/abuse-quality.md, written by bench/abuse_quality.py).
REPLYGUARD_ABUSE_MODEL_DIR = Path(
    env("REPLYGUARD_ABUSE_MODEL_DIR", default=str(REPLYGUARD_MODEL_DIR / "abuse"))
)
REPLYGUARD_ABUSE_HOLD_AT = env.float("REPLYGUARD_ABUSE_HOLD_AT", default=0.4)
REPLYGUARD_ABUSE_REJECT_AT = env.float("REPLYGUARD_ABUSE_REJECT_AT", default=None)
# A retrained abuse model is activated only if its held-out ROC AUC is at most this much below
# the active one's and it holds at most this much more of the news comments rated not toxic
# (where those evaluation-only comments are present).
REPLYGUARD_ABUSE_GATE_AUC_TOLERANCE = env.float(
    "REPLYGUARD_ABUSE_GATE_AUC_TOLERANCE", default=0.005
)
REPLYGUARD_ABUSE_GATE_NEWS_HELD_TOLERANCE = env.float(
    "REPLYGUARD_ABUSE_GATE_NEWS_HELD_TOLERANCE", default=0.005
)
# The words that made the score are worked out from this abuse probability up (what a
# moderator may look at), not for every comment.
REPLYGUARD_ABUSE_WORDS_FROM = env.float("REPLYGUARD_ABUSE_WORDS_FROM", default=0.2)
# The widget asks a reader whose draft reads as abusive (would be held for it), once, whether
# they want to rephrase; per article too. Off by default: each check loads the abuse model in
# the web process that answers it (docs/abuse-quality.md has the cost).
REPLYGUARD_ASK_BEFORE_POSTING = env.bool("REPLYGUARD_ASK_BEFORE_POSTING", default=False)
# The queue puts the most abusive held comments first (after the most reported) when true.
REPLYGUARD_QUEUE_ABUSE_FIRST = env.bool("REPLYGUARD_QUEUE_ABUSE_FIRST", default=False)
# A retrained model is activated only if its held-out F1 is at most this much below the active
# model's and it holds at most this much more of the news comments (and bins no more of them).
REPLYGUARD_GATE_F1_TOLERANCE = env.float("REPLYGUARD_GATE_F1_TOLERANCE", default=0.005)
REPLYGUARD_GATE_NEWS_HELD_TOLERANCE = env.float(
    "REPLYGUARD_GATE_NEWS_HELD_TOLERANCE", default=0.005
)
# ... and refuses one that holds more than SLICE_TOLERANCE more of the news comments with any
# one word or two-word phrase (in at least SLICE_MIN_COMMENTS of them): a model turned against
# a topic (moderation.spam.evaluation.topic_slices_worse).
REPLYGUARD_GATE_SLICE_TOLERANCE = env.float("REPLYGUARD_GATE_SLICE_TOLERANCE", default=0.05)
REPLYGUARD_GATE_SLICE_MIN_COMMENTS = env.int("REPLYGUARD_GATE_SLICE_MIN_COMMENTS", default=50)
# A comment still pending this many seconds after it was posted is enqueued again (its task was
# lost: broker down at POST time, worker killed). Well above a normal decision time (< 1 s).
REPLYGUARD_REQUEUE_PENDING_AFTER = env.float("REPLYGUARD_REQUEUE_PENDING_AFTER", default=120.0)
# Comments a worker claims and scores in one task (one transaction, one model call).
REPLYGUARD_SCORING_BATCH = env.int("REPLYGUARD_SCORING_BATCH", default=100)
# ...and at most this many characters of text (the first comment always goes): the time to score
# grows with the text, so 100 maximum-length comments must not make one slow task.
REPLYGUARD_SCORING_BATCH_CHARS = env.int("REPLYGUARD_SCORING_BATCH_CHARS", default=100_000)
# Seconds a new comment's scoring task waits, so comments posted meanwhile share its batch.
# Not on the filesystem broker, where a delayed task made decisions slower (bench/load.py).
REPLYGUARD_SCORING_WAIT = env.float(
    "REPLYGUARD_SCORING_WAIT", default=0.0 if CELERY_BROKER_URL.startswith("filesystem://") else 0.1
)
# The widget on the newsroom's pages: the origins (scheme://host[:port]) whose pages may call
# the public API from the browser. Only the reader-facing API, never the admin; no cookies.
# https://github.com/adamchainz/django-cors-headers#configuration
CORS_ALLOWED_ORIGINS = env.list("REPLYGUARD_EMBED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/(articles|comments)/"
CORS_ALLOW_HEADERS = ["accept", "content-type", "if-none-match"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]  # polling with 304s, and the 429 countdown
# Full IP addresses are kept this long for abuse control, then cut to /24 (IPv4) or /48 (IPv6).
REPLYGUARD_IP_RETENTION_DAYS = env.int("REPLYGUARD_IP_RETENTION_DAYS", default=30)
# Rate limits, flood control and reports count an IPv6 client by its network of this many bits:
# a /64 is one subscriber's, and rotating addresses inside it must not reset their limits.
REPLYGUARD_IPV6_PREFIX = env.int("REPLYGUARD_IPV6_PREFIX", default=64)
# Comments close automatically this many days after an article's publication (0: never);
# each article can override it.
REPLYGUARD_CLOSE_COMMENTS_AFTER_DAYS = env.int("REPLYGUARD_CLOSE_COMMENTS_AFTER_DAYS", default=0)
REPLYGUARD_MAX_REPLY_DEPTH = env.int("REPLYGUARD_MAX_REPLY_DEPTH", default=5)
# Comment POSTs per client IP (DRF rate syntax: N/second|minute|hour|day). Counted in the cache
# below, so production points CACHE_URL at Redis for one count across all web processes.
REPLYGUARD_RATE_COMMENT_POST = env("REPLYGUARD_RATE_COMMENT_POST", default="10/minute")
REPLYGUARD_RATE_REPORT_POST = env("REPLYGUARD_RATE_REPORT_POST", default="20/minute")
# Draft checks (ask before posting): one per submit, and a second only if the reader edits.
REPLYGUARD_RATE_DRAFT_CHECK = env("REPLYGUARD_RATE_DRAFT_CHECK", default="20/minute")
# Per site key, on the Akismet-compatible API (checks and reports together).
# Campaigns (moderation/campaigns/): comments of different authors within this window whose
# texts are at least this alike (estimated Jaccard similarity of their character 5-grams), or
# that link to the same unusual domain. Texts shorter than MIN_CHARS (after the article's
# quoted sentences and the links are taken out) are never grouped by their text.
REPLYGUARD_CAMPAIGN_WINDOW_HOURS = env.float("REPLYGUARD_CAMPAIGN_WINDOW_HOURS", default=72.0)
REPLYGUARD_CAMPAIGN_SIMILARITY = env.float("REPLYGUARD_CAMPAIGN_SIMILARITY", default=0.5)
REPLYGUARD_CAMPAIGN_MIN_CHARS = env.int("REPLYGUARD_CAMPAIGN_MIN_CHARS", default=40)
REPLYGUARD_CAMPAIGN_CANDIDATES = env.int("REPLYGUARD_CAMPAIGN_CANDIDATES", default=20)
# Also group one sender's fingerprint (mail domain + /24 or /48 network + user agent) across
# articles. Off: readers of one mail provider behind one office, campus or carrier network
# (CGNAT) share all three, so it grouped unrelated readers (docs/moderators.md).
REPLYGUARD_CAMPAIGN_BY_SENDER = env.bool("REPLYGUARD_CAMPAIGN_BY_SENDER", default=False)
# Storm mode (moderation.storms): an article pre-moderates itself for STORM_MINUTES when
# comments from at least MIN_COMMENTS networks arrive within WINDOW_MINUTES, FACTOR times its
# usual rate over the BASELINE_HOURS before; or when a campaign's comments in the window (or
# those of them filed as spam) come from CAMPAIGN_COMMENTS networks. One address counts once,
# whatever names it posts under.
REPLYGUARD_STORM_WINDOW_MINUTES = env.float("REPLYGUARD_STORM_WINDOW_MINUTES", default=10.0)
REPLYGUARD_STORM_BASELINE_HOURS = env.float("REPLYGUARD_STORM_BASELINE_HOURS", default=24.0)
REPLYGUARD_STORM_MIN_COMMENTS = env.int("REPLYGUARD_STORM_MIN_COMMENTS", default=30)
REPLYGUARD_STORM_FACTOR = env.float("REPLYGUARD_STORM_FACTOR", default=5.0)
REPLYGUARD_STORM_CAMPAIGN_COMMENTS = env.int("REPLYGUARD_STORM_CAMPAIGN_COMMENTS", default=5)
REPLYGUARD_STORM_MINUTES = env.float("REPLYGUARD_STORM_MINUTES", default=30.0)
# A worker process counts an article's comments for storm mode at most this often.
REPLYGUARD_STORM_CHECK_SECONDS = env.float("REPLYGUARD_STORM_CHECK_SECONDS", default=10.0)
# The Akismet-compatible API (/1.1/...) for other sites. On, gunicorn loads the spam model before
# it forks (config/gunicorn.py); off, web hosts serving only readers and moderators never do.
REPLYGUARD_AKISMET_API = env.bool("REPLYGUARD_AKISMET_API", default=True)
REPLYGUARD_RATE_AKISMET = env("REPLYGUARD_RATE_AKISMET", default="6000/minute")
# ... and the characters of comment text a key's checks may have scored, per minute: the model's
# work grows with the text, so one key's long checks took the web processes from readers.
# 120,000 a minute is 400 checks of a typical 300-character comment (docs/akismet.md).
REPLYGUARD_RATE_AKISMET_CHARS = env("REPLYGUARD_RATE_AKISMET_CHARS", default="120000/minute")
if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", REPLYGUARD_RATE_AKISMET_CHARS):
    # Read on every check: a malformed budget would make each one a 500, so refuse to start.
    raise ImproperlyConfigured(
        "REPLYGUARD_RATE_AKISMET_CHARS must be characters per period, such as 120000/minute."
    )
# Failed keys per client network (verify-key and the checks alike): past it, a client is refused
# before its key is looked at. A site with a right key never fails one.
REPLYGUARD_RATE_AKISMET_FAILED_KEYS = env("REPLYGUARD_RATE_AKISMET_FAILED_KEYS", default="20/hour")
# How long a web process answering checks keeps the word rules and domain lists it read.
REPLYGUARD_AKISMET_RULES_SECONDS = env.float("REPLYGUARD_AKISMET_RULES_SECONDS", default=5.0)
# How much a site's submit-spam / submit-ham label weighs in training beside a moderator's (1.0),
# and how many of each site's latest labels train at most: one site cannot outvote the rest.
REPLYGUARD_SITE_LABEL_WEIGHT = env.float("REPLYGUARD_SITE_LABEL_WEIGHT", default=0.5)
REPLYGUARD_SITE_LABELS_MAX = env.int("REPLYGUARD_SITE_LABELS_MAX", default=5000)
# This many reader reports send a published comment back to the moderators' queue.
REPLYGUARD_REPORTS_TO_HOLD = env.int("REPLYGUARD_REPORTS_TO_HOLD", default=3)
# Bigger requests get 413 before they are read. A 5,000-character body JSON-escaped at worst
# (\uXXXX) is 30 KB.
REPLYGUARD_MAX_REQUEST_BYTES = env.int("REPLYGUARD_MAX_REQUEST_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REPLYGUARD_MAX_REQUEST_BYTES
# Rules run before the model. A comment with this many links or more is held (0: no limit);
# suspect and banned words are data, edited in the admin (Word rules).
REPLYGUARD_HOLD_AT_LINKS = env.int("REPLYGUARD_HOLD_AT_LINKS", default=2)
# The newsroom's own domains (comma-separated, e.g. "news.example,news-cdn.example"): a reader
# linking to another story of the site is citing a source.
REPLYGUARD_OWN_DOMAINS = env.list("REPLYGUARD_OWN_DOMAINS", default=[])
# A domain no person has set is trusted after this many moderator publishes with no spam, or
# blocked after this many spam decisions with no publish (0: never learn that way).
REPLYGUARD_DOMAIN_TRUST_AFTER = env.int("REPLYGUARD_DOMAIN_TRUST_AFTER", default=3)
REPLYGUARD_DOMAIN_BLOCK_AFTER = env.int("REPLYGUARD_DOMAIN_BLOCK_AFTER", default=5)
# Flood control: one comment per this many seconds from one IP address or one email (429 with
# Retry-After; 0: off). The same author posting the same text again within the window below
# gets 409 instead (a double-clicked submit, a bot's loop; 0: off).
REPLYGUARD_FLOOD_SECONDS = env.int("REPLYGUARD_FLOOD_SECONDS", default=15)
REPLYGUARD_DUPLICATE_WINDOW_HOURS = env.int("REPLYGUARD_DUPLICATE_WINDOW_HOURS", default=24)
# A text at least this long that repeats a recent comment's exact text (within the duplicate
# window, from anyone) is held: shorter ones ("Well said.") are many readers' words.
REPLYGUARD_DUPLICATE_MIN_CHARS = env.int("REPLYGUARD_DUPLICATE_MIN_CHARS", default=40)
# Hold every comment of an author with no published comment yet.
REPLYGUARD_PREMODERATE_NEW_AUTHORS = env.bool("REPLYGUARD_PREMODERATE_NEW_AUTHORS", default=False)
# Bot checks. The form gets a signed timestamp from GET .../comment-form/; a comment sent
# sooner than this after it, or with the honeypot field filled, is filed as spam (see README).
REPLYGUARD_MIN_SUBMIT_SECONDS = env.float("REPLYGUARD_MIN_SUBMIT_SECONDS", default=3.0)
REPLYGUARD_FORM_TOKEN_MAX_AGE = env.int("REPLYGUARD_FORM_TOKEN_MAX_AGE", default=2 * 86400)
# Off by default so API clients without the form keep working; a site whose form sends the
# token should turn it on, so a bot cannot skip the timing check by leaving the token out.
REPLYGUARD_REQUIRE_FORM_TOKEN = env.bool("REPLYGUARD_REQUIRE_FORM_TOKEN", default=False)
REPLYGUARD_BODY_MAX_LENGTH = env.int("REPLYGUARD_BODY_MAX_LENGTH", default=5000)
REPLYGUARD_PAGE_SIZE = env.int("REPLYGUARD_PAGE_SIZE", default=20)
REPLYGUARD_MAX_PAGE_SIZE = env.int("REPLYGUARD_MAX_PAGE_SIZE", default=100)
# How long a rendered page of threads stays in the cache (0: not cached). Any change to a
# published comment gives its article's pages new keys at once, so this only bounds memory.
REPLYGUARD_THREAD_CACHE_SECONDS = env.int("REPLYGUARD_THREAD_CACHE_SECONDS", default=300)
# How long a POST takes its article (open for comments or not) from the cache (0: never).
# Saving the article forgets it at once where the cache is shared (Redis); with the default
# per-process cache, the other web processes see it within this time.
REPLYGUARD_ARTICLE_CACHE_SECONDS = env.float("REPLYGUARD_ARTICLE_CACHE_SECONDS", default=5.0)
# How long a thread's version is answered from a shared cache (moderation.cache): a 304
# or a cached page then needs no query. A reader may see a change this much later at worst.
REPLYGUARD_THREAD_VERSION_SECONDS = env.float("REPLYGUARD_THREAD_VERSION_SECONDS", default=10.0)

# --- Email (the moderators' digest) ---------------------------------------------------------------
# Printed to the console by default; production sets EMAIL_URL, e.g. smtp+tls://user:pass@host:587
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Where moderators reach the admin, for the links in their digest.
REPLYGUARD_SITE_URL = env("REPLYGUARD_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ReplyGuard <replyguard@localhost>")

# --- Logging -----------------------------------------------------------------------------------
# Plain console logs. Nothing here logs request bodies or client addresses: email and IP stay out.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {"refused_host_not_logged": {"()": "config.errors.RefusedHostNotLogged"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # SQL with its parameters (emails, IPs) is logged at DEBUG: never, whatever LOG_LEVEL says.
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A 4xx is the client's business, and the access line already shows it: Django's own
        # "Bad Request: /api/..." warning logged each one twice. 5xx are still logged, in full.
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"filters": ["refused_host_not_logged"]},
    },
}

import fcntl
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from rest_framework.test import APIClient

from config.celery import app as celery_app
from harness.waves import DATASETS_DIR, EVALUATION_DIR
from moderation.spam import classifier, datasets, versions
from tests.factories import ArticleFactory

ON_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, what_to_start: str) -> None:
    """Skip a test whose server or data is missing, but fail it on CI, where it must run."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"CI=true and {what_to_start}", pytrace=False)
    pytest.skip(what_to_start)


POSTGRES_ADMIN_URL = os.environ.get(
    "REPLYGUARD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def postgres_available() -> bool:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture
def postgres_database():
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    require(
        postgres_available(),
        f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: "
        "start it (pg_ctlcluster <version> main start) or set REPLYGUARD_TEST_POSTGRES_URL",
    )
    name = f"replyguard_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_in_a_subprocess(code: str, *, timeout: float = 20, **env) -> subprocess.CompletedProcess:
    """Run `code` with Django set up in a process of its own, under these environment variables
    (the suite's own process stays on its SQLite test database)."""
    from harness.stack import SECRET_KEY

    environment = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings", **env}
    environment.setdefault("SECRET_KEY", SECRET_KEY)
    script = f"import django; django.setup(); {code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="session")
def tasks_run_inline():
    # Unit tests run the scoring task in-process; tests/test_pipeline.py drives real workers.
    celery_app.conf.task_always_eager = True


def private_values() -> set[str]:
    from django.db import connection

    from moderation.models import Comment, ExternalCheck

    # Unlogged, so tests that count the queries of a request do not count this one.
    logged, connection.force_debug_cursor = connection.force_debug_cursor, False
    try:
        fields = ("author_email", "ip_address", "user_agent")
        values = [
            *Comment.objects.values_list(*fields),
            *ExternalCheck.objects.values_list(*fields),
        ]
        return {value for row in values for value in row if value and len(value) >= 6}
    finally:
        connection.force_debug_cursor = logged


@pytest.fixture(autouse=True)
def no_private_data_in_api_responses(monkeypatch):
    """Every response to /api/ and to the Akismet-compatible /1.1/ in the whole suite
    (schemathesis and hypothesis included) is searched for every email, IP address and user
    agent stored at that moment."""
    from django.core.handlers.base import BaseHandler

    get_response = BaseHandler.get_response

    def checked_get_response(handler, request):
        response = get_response(handler, request)
        if request.path.startswith(("/api/", "/1.1/")) and not response.streaming:
            leaked = [v for v in private_values() if v.encode() in response.content]
            assert not leaked, f"{request.method} {request.path} returned private data"
        return response

    monkeypatch.setattr(BaseHandler, "get_response", checked_get_response)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # Rate-limit counters live in the cache: each test starts with none spent.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fresh_rules_for_external_checks():
    # Each web process keeps the rules a few seconds; a rolled-back test's rule must not stay.
    from moderation.akismet.checks import rules_forget

    rules_forget()


@pytest.fixture(autouse=True)
def fresh_storm_checks():
    # Each worker process counts an article at most every few seconds; a new test, a new count.
    from moderation.storms import storm_checks_forget

    storm_checks_forget()


@pytest.fixture(autouse=True)
def no_flood_control(settings):
    # Most tests post several comments from one client at once; tests/test_rules.py turns
    # flood control back on where it is the subject.
    settings.REPLYGUARD_FLOOD_SECONDS = 0


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 at Django's 1,000,000 rounds costs each test user ~0.3 s; no test is about the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage needs `collectstatic` first; tests render the admin without it.
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


# What a trained model depends on: a change to any of these trains a new one.
MODEL_SOURCES = tuple(
    f"spam/{name}.py" for name in ("features", "classifier", "datasets", "evaluation", "training")
) + ("domains.py", "links.py")


@pytest.fixture(scope="session")
def trained_model_dir(request, tmp_path_factory) -> Path:
    """A real model trained on the real datasets, once per change of what it depends on: kept
    in pytest's cache, so the inner loop does not spend a minute retraining the same model, and
    trained by one test process while the others (pytest-xdist) wait for it. Treat it as
    read-only."""
    from django.conf import settings

    from moderation.spam import training  # training-only code: matplotlib and the gate

    thresholds = (settings.REPLYGUARD_PUBLISH_BELOW, settings.REPLYGUARD_SPAM_ABOVE)
    key = hashlib.sha256(repr(thresholds).encode())
    for name in MODEL_SOURCES:
        key.update((Path(datasets.__file__).parent.parent / name).read_bytes())
    news = datasets.news_file(EVALUATION_DIR)
    for path in [*sorted(DATASETS_DIR.rglob("*")), news]:
        if path.is_file():  # the content: a flipped label keeps the file's size (~30 ms in all)
            key.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    name = f"replyguard-model-{key.hexdigest()[:16]}"
    model_dir = cache.mkdir(name) if cache else tmp_path_factory.mktemp("models")
    with (model_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (model_dir / versions.ACTIVE_FILE).exists():
            training.train_and_save(
                datasets_dir=DATASETS_DIR,
                evaluation_dir=EVALUATION_DIR,
                model_dir=model_dir,
                publish_below=thresholds[0],
                spam_above=thresholds[1],
            )
    return model_dir


@pytest.fixture
def spam_model(settings, trained_model_dir):
    settings.REPLYGUARD_MODEL_DIR = trained_model_dir
    return classifier.load_active_model(trained_model_dir)


@pytest.fixture
def no_model(settings, tmp_path):
    settings.REPLYGUARD_MODEL_DIR = tmp_path / "no-models-here"


@pytest.fixture(autouse=True)
def no_abuse_model_unless_asked(settings, tmp_path):
    # Whatever abuse model this machine's var/ holds must not decide a test's comments: the
    # tests about abuse ask for the suite's own (abuse_model).
    settings.REPLYGUARD_ABUSE_MODEL_DIR = tmp_path / "no-abuse-model-here"


ABUSE_MODEL_SOURCES = tuple(
    f"abuse/{name}.py" for name in ("__init__", "classifier", "datasets", "training")
)


@pytest.fixture(scope="session")
def trained_abuse_model_dir(request, tmp_path_factory) -> Path:
    """A real abuse model trained on the shipped data, once per change of what it depends on
    (kept in pytest's cache like trained_model_dir). Read-only."""
    from moderation.abuse import training

    key = hashlib.sha256()
    for name in ABUSE_MODEL_SOURCES:
        key.update((Path(datasets.__file__).parent.parent / name).read_bytes())
    wikipedia = DATASETS_DIR / "toxicity-wikipedia" / "wikipedia_toxicity.csv"
    key.update(hashlib.sha256(wikipedia.read_bytes()).digest())
    cache = getattr(request.config, "cache", None)
    name = f"replyguard-abuse-model-{key.hexdigest()[:16]}"
    model_dir = cache.mkdir(name) if cache else tmp_path_factory.mktemp("abuse-models")
    with (model_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (model_dir / versions.ACTIVE_FILE).exists():
            training.train_and_save(datasets_dir=DATASETS_DIR, model_dir=model_dir)
    return model_dir


@pytest.fixture
def abuse_model(settings, trained_abuse_model_dir):
    from moderation.abuse import classifier as abuse_classifier

    settings.REPLYGUARD_ABUSE_MODEL_DIR = trained_abuse_model_dir
    return abuse_classifier.load_active_model(trained_abuse_model_dir)


@pytest.fixture
def article(db):
    return ArticleFactory()


@pytest.fixture
def api_client():
    return APIClient()

"""Every limit and threshold comes from the environment, with the embedded default otherwise."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.stack import PROJECT, SECRET_KEY, embedded_env, web_alone
from tests.conftest import django_in_a_subprocess

READ_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'publish_below': s.REPLYGUARD_PUBLISH_BELOW, "
    "'spam_above': s.REPLYGUARD_SPAM_ABOVE, 'body': s.REPLYGUARD_BODY_MAX_LENGTH, "
    "'page': s.REPLYGUARD_PAGE_SIZE, 'engine': s.DATABASES['default']['ENGINE'], "
    "'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, "
    "'datasets': str(s.REPLYGUARD_DATASETS_DIR)}))"
)


def settings_under(tmp_path, **env_vars) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REPLYGUARD_", "DATABASE_URL", "CELERY_", "DEBUG"))
    }
    env = (
        clean
        | {"DJANGO_SETTINGS_MODULE": "config.settings", "REPLYGUARD_VAR_DIR": str(tmp_path)}
        | env_vars
    )
    out = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=PROJECT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def test_the_default_is_sqlite_and_the_filesystem_broker_without_debug(tmp_path):
    values = settings_under(tmp_path)

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["broker"].startswith("filesystem://")
    assert values["debug"] is False
    assert (tmp_path / "broker" / "queue").is_dir()
    assert values["datasets"] == str(PROJECT / "datasets")  # what the repository ships


def test_thresholds_limits_and_servers_come_from_the_environment(tmp_path):
    values = settings_under(
        tmp_path,
        REPLYGUARD_PUBLISH_BELOW="0.3",
        REPLYGUARD_SPAM_ABOVE="0.95",
        REPLYGUARD_BODY_MAX_LENGTH="800",
        REPLYGUARD_PAGE_SIZE="7",
        DATABASE_URL="postgres://u@db.invalid:5432/replyguard",
        CELERY_BROKER_URL="redis://cache.invalid:6379/0",
        SECRET_KEY=SECRET_KEY,
        REPLYGUARD_DATASETS_DIR="/srv/newsroom-data",  # a newsroom's own
    )

    assert values == {
        "publish_below": 0.3,
        "spam_above": 0.95,
        "body": 800,
        "page": 7,
        "engine": "django.db.backends.postgresql",
        "broker": "redis://cache.invalid:6379/0",
        "debug": False,
        "datasets": "/srv/newsroom-data",
    }


def deploy_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"ALLOWED_HOSTS": "comments.example.com"},
        {"ALLOWED_HOSTS": "localhost,comments.example.com"},
        {"DATABASE_URL": "postgres://u@db.invalid:5432/replyguard"},
    ],
    ids=["public-host", "local-and-public-hosts", "postgresql"],
)
def test_the_built_in_secret_key_refuses_to_start_beyond_the_local_default(tmp_path, elsewhere):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "REPLYGUARD_VAR_DIR": str(tmp_path)}

    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT,
        env=env | elsewhere,
        capture_output=True,
        text=True,
    )
    local = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT, env=env, capture_output=True
    )

    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr
    assert local.returncode == 0, local.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLYGUARD_", "DEBUG"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REPLYGUARD_VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "k7#pQ2!vZ9x@Lm4$Rt8^Wy1&Nc6*Hb3(Jd5)Fg0-Se7+Ua2=Ko9_Ti4~Xe6",
        "ALLOWED_HOSTS": "comments.example.com",
        "HTTPS": "true",
    }
    result = deploy_check(env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_local_default_is_flagged_by_the_deploy_check(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REPLYGUARD_", "DEBUG", "SECRET_KEY", "HTTPS"))
    }
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "REPLYGUARD_VAR_DIR": str(tmp_path)}
    result = deploy_check(env)

    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout  # the insecure local SECRET_KEY


def test_the_web_side_never_imports_the_spam_models_libraries(tmp_path):
    # scikit-learn and friends cost a web process ~90 MB of its 150 MB budget (issue 6): only
    # a process answering model-backed requests loads them, at run time (the tests below).
    # Importing the URLs (the comment API, the demo page, the Akismet views), the admin and
    # the shadow-mode page, and answering readers and a moderator, never does.
    check = (
        "import sys, django; django.setup(); import config.urls, moderation.admin; "
        "import moderation.akismet.views, moderation.spam.shadow, moderation.tasks; "
        "from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); call_command('load_demo', verbosity=0); "
        "from django.test import Client; client = Client(); "
        "print([client.get(url).status_code for url in ('/api/articles/', '/', '/admin/login/')]); "
        "print(sorted(m for m in ('sklearn', 'scipy', 'skops') if m in sys.modules))"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings"}
    env |= {"REPLYGUARD_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "testserver"}
    env |= {"SECRET_KEY": SECRET_KEY, "DEBUG": "true"}  # DEBUG: static files without collecting
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=PROJECT, env=env, capture_output=True, text=True
    )

    assert result.stdout.strip().splitlines()[-2:] == ["[200, 200, 200]", "[]"], result.stderr


def status_of(url: str, data: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def web_processes_loaded(tmp_path, model_dir, *, akismet: str) -> tuple[list[bool], int]:
    """Start gunicorn as `make run` does; (whether each web process has scikit-learn mapped in
    memory once it serves, the status of an Akismet request). No check is sent before the
    processes are read, so a model found there was loaded before any request."""
    env = embedded_env(
        tmp_path, REPLYGUARD_MODEL_DIR=str(model_dir), REPLYGUARD_AKISMET_API=akismet
    )
    with web_alone(env, tmp_path / "web.log") as (server, url):
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        loaded = ["/sklearn/" in Path(f"/proc/{pid}/maps").read_text() for pid in children]
        status = status_of(f"{url}/1.1/verify-key", data=b"key=x&blog=https://y.example")
    return loaded, status


@pytest.mark.e2e
def test_with_the_akismet_api_on_every_web_process_starts_with_the_model(
    tmp_path, trained_model_dir
):
    loaded, status = web_processes_loaded(tmp_path, trained_model_dir, akismet="true")

    assert loaded == [True, True]  # loaded once in gunicorn's master, before it forked
    assert status == 200
    assert "Akismet-compatible API: spam model" in (tmp_path / "web.log").read_text()


@pytest.mark.e2e
def test_with_the_akismet_api_off_no_web_process_loads_the_model(tmp_path, trained_model_dir):
    loaded, status = web_processes_loaded(tmp_path, trained_model_dir, akismet="false")

    assert loaded == [False, False]
    assert status == 404


def test_a_malformed_akismet_text_budget_refuses_to_start():
    # Read on every comment-check: malformed, it made each one a 500.
    refused = django_in_a_subprocess("", REPLYGUARD_RATE_AKISMET_CHARS="lots")
    accepted = django_in_a_subprocess("", REPLYGUARD_RATE_AKISMET_CHARS="5000/hour")

    assert refused.returncode != 0 and "REPLYGUARD_RATE_AKISMET_CHARS must be" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr

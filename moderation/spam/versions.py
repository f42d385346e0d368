"""The model directory: which saved version is active, which one shadows it, and the history
rollback reads. Files only, no scikit-learn: the admin and the commands read and switch
versions here, and only a worker or the Akismet door loads one (spam/classifier.py)."""

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

# v1 - word 1-2 + char_wb 3-5 TF-IDF and style features, sigmoid-calibrated logistic regression.
# v2 - hashed n-grams (no vocabulary to store: loads in ~0.1 s instead of 2.5 s), named signals
#      (link domains, shorteners, capitals, phone numbers...), one regression + one sigmoid.
# v3 - n-grams see each link as its domain plus LINK_WORD, and count once per comment.
# v4 - the whole form: name and Website signals, each link's registered domain and kind
#      (trusted source, shortener, unknown, keyword domain), generic praise; trained on news
#      comments, blog form spam and links readers cite as well.
# v5 - the same model, its functions moved from moderation.classifier to moderation.spam.features:
#      a v4 artifact names functions that no longer exist there, so it is retrained, not loaded.
MODEL_FORMAT_VERSION = 5
RETRAIN = "retrain it: python manage.py train_classifier (make run does when none loads)"

ACTIVE_FILE = "ACTIVE"
SHADOW_FILE = "SHADOW"
HISTORY_FILE = "HISTORY"  # one activated version per line, oldest first: what rollback reads
VERSION = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


class UnusableModelError(Exception):
    """A saved version that a worker could not load."""


def artifact_path(model_dir: Path, version: str) -> Path:
    return Path(model_dir) / f"{version}.skops"


def report_path(model_dir: Path, version: str) -> Path:
    return Path(model_dir) / f"{version}.report.json"


def write_atomic(path: Path, data: bytes) -> None:
    # A reader sees the old file or the new one, never half of one.
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def new_version(data: bytes) -> str:
    """A version name: when it was saved, and the start of its artifact's hash."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{hashlib.sha256(data).hexdigest()[:6]}"


def saved_versions(model_dir: Path) -> list[str]:
    """Every saved version, oldest first (versions start with their UTC timestamp)."""
    paths = [p for p in Path(model_dir).glob("*.skops") if VERSION.fullmatch(p.stem)]
    # Two versions saved in one second tie on the timestamp: the file's age breaks the tie.
    return [p.stem for p in sorted(paths, key=lambda p: (p.stem[:15], p.stat().st_mtime_ns))]


def active_version(model_dir: Path) -> str | None:
    return _pointer(model_dir, ACTIVE_FILE)


def shadow_version(model_dir: Path) -> str | None:
    return _pointer(model_dir, SHADOW_FILE)


def _pointer(model_dir: Path, name: str) -> str | None:
    try:
        version = (Path(model_dir) / name).read_text().strip()
    except OSError:
        return None
    return version if VERSION.fullmatch(version) else None


def activate_version(model_dir: Path, version: str) -> None:
    model_dir = Path(model_dir)
    if not artifact_path(model_dir, version).is_file():
        raise FileNotFoundError(artifact_path(model_dir, version))
    write_atomic(model_dir / ACTIVE_FILE, version.encode())
    with (model_dir / HISTORY_FILE).open("a") as history:
        history.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {version}\n")


def previous_version(model_dir: Path) -> str | None:
    """The version active before the current one (rolling back twice returns, like `cd -`)."""
    current = active_version(model_dir)
    try:
        lines = (Path(model_dir) / HISTORY_FILE).read_text().split("\n")
    except OSError:
        return None
    earlier = [line.split()[-1] for line in lines if line.strip()]
    return next((version for version in reversed(earlier) if version != current), None)


def artifact_checked(
    model_dir: Path,
    version: str,
    *,
    format_version: int = MODEL_FORMAT_VERSION,
    retrain: str = RETRAIN,
) -> bytes:
    """The artifact's bytes, if they are the version's (its hash) and of the format this
    ReplyGuard reads (the stamp in its report); else UnusableModelError saying why. What a
    worker checks before loading, and what the admin can check without loading."""
    data = artifact_path(model_dir, version).read_bytes()
    if not hashlib.sha256(data).hexdigest().startswith(version[-6:]):
        raise UnusableModelError("content does not match the hash in its version")
    stamped = _stamped_format(model_dir, version)
    if stamped is not None and stamped != format_version:
        raise UnusableModelError(
            f"it is a format {stamped} model and this ReplyGuard reads format "
            f"{format_version}: {retrain}"
        )
    return data


def _stamped_format(model_dir: Path, version: str) -> int | None:
    try:
        return json.loads(report_path(model_dir, version).read_text()).get("format_version")
    except (OSError, ValueError, AttributeError):
        return None  # the artifact's own stamp decides (classifier.load_version)


# --- Shadow mode: which candidate scores beside the active model --------------------------------


class UnusableCandidateError(Exception):
    """The version cannot be put in shadow mode or activated from it."""


def shadow_set(model_dir: Path, version: str, **expected) -> None:
    """Put `version` in shadow mode; refuse one a worker could not load, or the active one.
    `expected`: artifact_checked's format_version and retrain (the abuse model's are its own)."""
    model_dir = Path(model_dir)
    if version == active_version(model_dir):
        raise UnusableCandidateError(f"{version} is the active model already.")
    _check_usable(model_dir, version, **expected)
    write_atomic(model_dir / SHADOW_FILE, version.encode())


def shadow_clear(model_dir: Path) -> None:
    (Path(model_dir) / SHADOW_FILE).unlink(missing_ok=True)


def shadow_activate(model_dir: Path, version: str, **expected) -> None:
    """Make the candidate `version` the active model and end shadow mode. Refused if another
    candidate took its place meanwhile: the evidence a moderator saw was for this one."""
    model_dir = Path(model_dir)
    if version != shadow_version(model_dir):
        raise UnusableCandidateError(f"{version} is no longer the model in shadow mode.")
    _check_usable(model_dir, version, **expected)
    activate_version(model_dir, version)
    shadow_clear(model_dir)


def _check_usable(model_dir: Path, version: str, **expected) -> None:
    if not VERSION.fullmatch(version or ""):
        raise UnusableCandidateError(f"{version!r} is not a model version.")
    try:
        artifact_checked(model_dir, version, **expected)
    except (OSError, UnusableModelError) as error:
        raise UnusableCandidateError(f"{version} does not load: {error}") from error

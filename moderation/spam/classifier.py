"""The spam model as a worker holds it: the pipeline built, its scores and the reasons given
for them, and the artifact saved and loaded. Imports scikit-learn: only the worker, the Akismet
door (through moderation.spam.active_model) and training import it."""

import hashlib
import json
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from pathlib import Path

import numpy as np
import skops.io
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV

# Private scikit-learn helpers (pinned <1.8 in pyproject) for the fast scoring path in _block.
from sklearn.feature_extraction._hashing_fast import transform as _hash_tokens  # noqa: I001
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    HashingVectorizer,
    TfidfTransformer,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from moderation import domains
from moderation.spam import versions
from moderation.spam.features import (
    CHAR_NGRAMS,
    LINK_WORD,
    body_words,
    char_line,
    char_ngrams,
    comment_text,
    form_parts,
    form_signals,
    link_signals,
    style_signals,
)
from moderation.spam.versions import UnusableModelError

logger = logging.getLogger(__name__)

# Everything an artifact may contain beyond skops' own defaults (skops.io.get_untrusted_types).
TRUSTED_TYPES = frozenset(
    {
        "moderation.spam.features.body_words",
        "moderation.spam.features.char_ngrams",
        "moderation.spam.features.link_signals",
        "moderation.spam.features.form_signals",
        "moderation.spam.features.style_signals",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)


# --- The pipeline ------------------------------------------------------------------------------

STYLE_WEIGHT = 0.1  # see build_pipeline


def _hashed_tfidf(n_features: int, **options) -> Pipeline:
    # Hashing: nothing to store per n-gram, which is what made v1 load in 2.5 s. Binary: an
    # n-gram counts once per comment, so a repeated word or link cannot dominate the score.
    hashing = HashingVectorizer(
        n_features=n_features, alternate_sign=False, norm=None, binary=True, **options
    )
    return make_pipeline(hashing, TfidfTransformer(sublinear_tf=True))


def _signals(analyzer) -> HashingVectorizer:
    # 2**14: room for a signal per link domain ("a link to reuters.com") without collisions.
    return HashingVectorizer(
        analyzer=analyzer, n_features=2**14, alternate_sign=False, norm=None, binary=True
    )


def build_pipeline(c: float = 10.0) -> Pipeline:
    features = FeatureUnion(
        [
            ("words", _hashed_tfidf(2**18, ngram_range=(1, 2), preprocessor=body_words)),
            ("chars", _hashed_tfidf(2**19, analyzer=char_ngrams)),
            ("links", _signals(link_signals)),
            ("form", _signals(form_signals)),
            ("style", _signals(style_signals)),
        ],
        # At full weight the style signals cost 1.5 points of held-out YouTube F1 (measured
        # 1.0, 0.4, 0.2, 0): they overrule the words. Down-weighted they still break ties.
        transformer_weights={"style": STYLE_WEIGHT},
    )
    # Calibrated so a threshold keeps its meaning across retrains; ensemble=False keeps one
    # regression (fitted on all rows) and one sigmoid (fitted on 5-fold out-of-fold scores).
    # liblinear: 2x faster than lbfgs here, and seconds instead of minutes on tiny separable sets.
    regression = LogisticRegression(C=c, class_weight="balanced", solver="liblinear")
    calibrated = CalibratedClassifierCV(regression, method="sigmoid", cv=5, ensemble=False)
    return Pipeline([("features", features), ("classifier", calibrated)])


# --- The loaded model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SpamModel:
    version: str
    pipeline: Pipeline

    def spam_probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return _probabilities(self.pipeline, _features(self.pipeline, list(texts))).tolist()

    def cases_probabilities(self, cases: Sequence, trusted_domains) -> list[float]:
        return self.spam_probabilities(cases_texts(cases, trusted_domains))

    def cases_scores_and_reasons(self, cases: Sequence, trusted_domains) -> list[tuple]:
        return self.scores_and_reasons(cases_texts(cases, trusted_domains))

    def spam_probability(self, text: str) -> float:
        return self.spam_probabilities([text])[0]

    def explain(self, text: str, k: int = 3) -> list[str]:
        return self.scores_and_reasons([text], k)[0][1]

    def scores_and_reasons(self, texts: Sequence[str], k: int = 3) -> list[tuple[float, list]]:
        """(spam probability, the k features that pushed it up the most, as moderators read
        them) per text, from one feature matrix. The sigmoid calibration is monotonic, so the
        regression's terms (value x coefficient) rank the reasons exactly as they move the
        probability."""
        if not texts:
            return []
        features = _features(self.pipeline, list(texts))
        probabilities = _probabilities(self.pipeline, features).tolist()
        results = []
        for i, text in enumerate(texts):
            row = slice(features.indptr[i], features.indptr[i + 1])
            pushes = Counter()
            for reason, push in _contributions(
                self.pipeline, text, features.indices[row], features.data[row]
            ):
                pushes[reason] += push
            reasons = [reason for reason, push in pushes.most_common(k) if push > 0]
            results.append((probabilities[i], reasons))
        return results


def cases_texts(cases: Sequence, trusted_domains) -> list[str]:
    """What the model reads of each comment (anything with body, author_name, author_url)."""
    return [
        comment_text(
            body=case.body,
            author_name=case.author_name,
            author_url=case.author_url,
            trusted_domains=trusted_domains,
        )
        for case in cases
    ]


def _features(pipeline: Pipeline, texts: list[str]) -> sparse.csr_matrix:
    union = pipeline.named_steps["features"]
    weights = union.transformer_weights or {}
    blocks = (
        _block(block, texts) * weights.get(name, 1.0) for name, block in union.transformer_list
    )
    return sparse.hstack(list(blocks), format="csr")


def _block(block, texts: list[str]) -> sparse.csr_matrix:
    """block.transform(texts), minus scikit-learn's per-call checks (~0.3 ms per block, most
    of the 2 ms budget for one comment). test_classifier pins it to the pipeline's output."""
    hashing = _hashing(block)
    analyze = hashing.build_analyzer()
    # Binary counts: hash each distinct n-gram once (a third of the char n-grams repeat).
    distinct = _distinct if hashing.binary else list
    tokens = (zip(distinct(analyze(text)), repeat(1)) for text in texts)
    indices, indptr, values = _hash_tokens(tokens, hashing.n_features, np.float64, False, seed=0)
    matrix = sparse.csr_matrix((values, indices, indptr), shape=(len(texts), hashing.n_features))
    matrix.sum_duplicates()
    if hashing.binary:
        matrix.data.fill(1)
    if block is hashing:
        return matrix
    np.log(matrix.data, matrix.data)  # sublinear_tf: 1 + log(tf)
    matrix.data += 1
    matrix.data *= block[-1].idf_[matrix.indices]
    inplace_csr_row_normalize_l2(matrix)
    return matrix


def _distinct(tokens):
    return tokens if isinstance(tokens, set) else set(tokens)


def _hashing(block) -> HashingVectorizer:
    return block if isinstance(block, HashingVectorizer) else block[0]


def _probabilities(pipeline: Pipeline, features: sparse.csr_matrix) -> np.ndarray:
    """pipeline.predict_proba(texts)[:, 1] from _features(texts), without its per-call
    validation: 0.6 ms of the 2 ms budget for one comment went to FeatureUnion and
    CalibratedClassifierCV bookkeeping."""
    calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_[0]
    regression = calibrated.estimator
    scores = features @ regression.coef_[0] + regression.intercept_[0]
    return calibrated.calibrators[0].predict(scores)


def _contributions(pipeline: Pipeline, text: str, indices: np.ndarray, values: np.ndarray):
    """(reason, push) for each n-gram or signal of one text, given its row of _features."""
    features = pipeline.named_steps["features"]
    regression = pipeline.named_steps["classifier"].calibrated_classifiers_[0].estimator
    pushes = values * regression.coef_[0][indices]
    terms = dict(zip(indices.tolist(), pushes.tolist(), strict=True))
    offset = 0
    for name, block in features.transformer_list:
        hashing = _hashing(block)
        for reason, columns in _reasons(name, hashing, text):
            yield reason, sum(terms.get(offset + i, 0.0) for i in columns)
        offset += hashing.n_features


def _reasons(name: str, hashing: HashingVectorizer, text: str):
    """(reason, hashed column indices) for each n-gram or signal of one block in this text.
    Signals are named in words already; n-grams read as the word they belong to, leaving out
    stop words and the pieces of links (a link's own signal names its domain)."""
    if name in ("chars", "words"):
        hosts = domains.link_hosts(form_parts(text).body)
        untelling = ENGLISH_STOP_WORDS | {p for host in hosts for p in (host, *host.split("."))}
    if name == "chars":
        by_word = {
            word: grams for word, grams in _grams_by_word(text).items() if _telling(word, untelling)
        }
        reasons, groups = [_quoted(word) for word in by_word], list(by_word.values())
    else:
        tokens = set(hashing.build_analyzer()(text))
        if name == "words":
            tokens = {t for t in tokens if all(_telling(w, untelling) for w in t.split())}
        reasons = [_quoted(token) if name == "words" else token for token in tokens]
        groups = [(token,) for token in tokens]
    yield from zip(reasons, _columns(groups, hashing.n_features), strict=True)


def _telling(word: str, untelling: frozenset) -> bool:
    word = word.strip(PUNCTUATION)
    return len(word) > 1 and word not in untelling and LINK_WORD not in word


def _grams_by_word(text: str) -> dict[str, set[str]]:
    """Each character n-gram of char_ngrams(text), under the word it starts in (or the word
    after the space it starts on), so a moderator reads words rather than n-grams."""
    words = body_words(text).split()
    line, grams = char_line(words), {}
    start = 1  # the line is " word word ... word "
    for word in words:
        starts = range(start - 1, start + len(word))
        found = grams.setdefault(word, set())
        found.update(line[i : i + n] for n in CHAR_NGRAMS for i in starts if i + n <= len(line))
        start += len(word) + 1
    return grams


PUNCTUATION = ".,;:!?\"'()[]*"


def _quoted(word: str) -> str:
    """A word as the moderator reads it: quoted, or what it is when that says more."""
    word = word.strip(PUNCTUATION)
    if PHONE.fullmatch(word):
        return "phone number"
    if "@" in word and "." in word.split("@")[-1]:
        return "an email address"
    return f"'{word[:30]}'"


PHONE = re.compile(r"\+?\d[\d\-\s().]{5,}\d")


def _columns(groups: list, n_features: int) -> list[set[int]]:
    """The columns HashingVectorizer gives each group of tokens, hashed in one call of its own
    C loop: one murmurhash call per token from Python cost half the time of scoring a batch."""
    indices, starts, _ = _hash_tokens(
        (zip(group, repeat(1)) for group in groups), n_features, np.float64, False, seed=0
    )
    indices, starts = indices.tolist(), starts.tolist()
    return [set(indices[start:end]) for start, end in pairwise(starts)]


# --- Artifact -----------------------------------------------------------------------------------


def save_model(pipeline: Pipeline, *, model_dir: Path, report: dict) -> str:
    model_dir.mkdir(parents=True, exist_ok=True)
    artifact = {"format_version": versions.MODEL_FORMAT_VERSION, "pipeline": pipeline}
    # The hashed coefficients and idf vectors are mostly constant: deflate shrinks them ~10x.
    data = skops.io.dumps(artifact, compression=zipfile.ZIP_DEFLATED)
    version = versions.new_version(data)
    versions.write_atomic(versions.artifact_path(model_dir, version), data)
    digest = hashlib.sha256(data).hexdigest()
    stamped = {"version": version, "sha256": digest}
    stamped["format_version"] = versions.MODEL_FORMAT_VERSION
    report_json = json.dumps(stamped | report, indent=2).encode()
    versions.write_atomic(versions.report_path(model_dir, version), report_json)
    return version


# (model_dir, role) -> (version, model or None): one load per version and role per process.
_loaded: dict[tuple[Path, str], tuple[str, SpamModel | None]] = {}
# What a model that does not load costs, by its role: said in the warning.
WITHOUT_IT = {
    "active": "comments will be held",
    "shadow": "shadow scoring is off",
    "abuse": "nothing is held for abuse",  # abuse.classifier loads its models through load_once
    "abuse shadow": "abuse shadow scoring is off",
}


def load_active_model(model_dir: Path | None = None, *, warn: bool = True) -> SpamModel | None:
    """The active model, or None (log a warning; comments then wait for a moderator). Training
    asks with warn=False and says itself at the end whether a model is active (said in the
    middle, it was said twice, and wrongly). Reads ACTIVE on every call (one small file), so a
    worker follows an activation at once."""
    model_dir = _model_dir(model_dir)
    version = versions.active_version(model_dir)
    if version is None:
        if warn:
            logger.warning("No active spam model in %s: comments will be held", model_dir)
        return None
    return load_once(model_dir, version, role="active")


def load_shadow_model(model_dir: Path | None = None) -> SpamModel | None:
    """The candidate's SpamModel, or None: unset, unloadable (logged once per version) or the
    active version. Reads SHADOW on every call, so a worker follows `shadow` at once."""
    model_dir = _model_dir(model_dir)
    version = versions.shadow_version(model_dir)
    if version is None or version == versions.active_version(model_dir):
        return None
    return load_once(model_dir, version, role="shadow")


def _model_dir(model_dir: Path | None) -> Path:
    if model_dir is None:
        from django.conf import settings  # training and tests run without Django settings

        model_dir = settings.REPLYGUARD_MODEL_DIR
    return Path(model_dir)


def load_once(model_dir: Path, version: str, *, role: str, load=None):
    """`version` for `role` (WITHOUT_IT's keys), loaded by `load` (default: this module's
    load_version) once per process while it keeps that role; None if it does not load (logged
    once: any failure means "go on without it", never a crashed worker)."""
    cached_version, model = _loaded.get((model_dir, role), (None, None))
    if cached_version != version:
        model = _load_or_none(model_dir, version, role, load or load_version)
        _loaded[model_dir, role] = (version, model)
    return model


def _load_or_none(model_dir: Path, version: str, role: str, load):
    try:
        return load(model_dir, version)
    except Exception as error:
        path = versions.artifact_path(model_dir, version)
        logger.warning("Model %s not loaded, %s: %s", path, WITHOUT_IT[role], error)
        return None


def load_version(model_dir: Path, version: str) -> SpamModel:
    # One read for hash, type check and load, so the file cannot change between them.
    data = versions.artifact_checked(model_dir, version)
    untrusted = set(skops.io.get_untrusted_types(data=data))
    if untrusted - TRUSTED_TYPES:
        raise UnusableModelError(f"untrusted types {sorted(untrusted - TRUSTED_TYPES)}")
    artifact = skops.io.loads(data, trusted=sorted(untrusted))
    expected = versions.MODEL_FORMAT_VERSION
    if not isinstance(artifact, dict) or artifact.get("format_version") != expected:
        raise UnusableModelError(f"its format is not version {expected}: {versions.RETRAIN}")
    return SpamModel(version=version, pipeline=artifact["pipeline"])

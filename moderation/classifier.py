"""The spam model: the only module that knows how the artifact is built, stored and loaded.
Training and evaluation live in moderation/training.py, so workers never import them."""

import hashlib
import json
import logging
import os
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise, repeat
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

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
from moderation.links import URL

logger = logging.getLogger(__name__)

# v1 - word 1-2 + char_wb 3-5 TF-IDF and style features, sigmoid-calibrated logistic regression.
# v2 - hashed n-grams (no vocabulary to store: loads in ~0.1 s instead of 2.5 s), named signals
#      (link domains, shorteners, capitals, phone numbers...), one regression + one sigmoid.
# v3 - n-grams see each link as its domain plus LINK_WORD, and count once per comment.
# v4 - the whole form: name and Website signals, each link's registered domain and kind
#      (trusted source, shortener, unknown, keyword domain), generic praise; trained on news
#      comments, blog form spam and links readers cite as well.
MODEL_FORMAT_VERSION = 4

# Everything a v4 artifact may contain beyond skops' own defaults (skops.io.get_untrusted_types).
TRUSTED_TYPES = frozenset(
    {
        "moderation.classifier.body_words",
        "moderation.classifier.char_ngrams",
        "moderation.classifier.link_signals",
        "moderation.classifier.form_signals",
        "moderation.classifier.style_signals",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)

ACTIVE_FILE = "ACTIVE"
HISTORY_FILE = "HISTORY"  # one activated version per line, oldest first: what rollback reads
VERSION = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")

PHONE_LIKE = re.compile(r"(?<!\w)\+?\d(?:[ .-]?\d){7,}(?!\w)")
# Starts only where a run of address characters starts: with \b it tried every position of a
# long "a.a.a..." run and scanned to its end from each, quadratic (0.08 s for 4,900 characters).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+\b")
DIGIT = re.compile(r"\d")
NOT_LETTER, NOT_CAPITAL, NOT_DIGIT = (
    re.compile(r"[\W\d_]+"),
    re.compile(r"[^A-Z]+"),
    re.compile(r"\D+"),
)
REPEATED = re.compile(r"([^\W\d_]|[!?])\1{2,}")
STYLE_WEIGHT = 0.1
CHAR_NGRAMS = (2, 3, 4, 5)
CHANNEL_PATH = re.compile(r"youtube\.com/(?:user|channel|c)/|youtube\.com/@", re.I)
# One made-up word for "a link here", so every link shares n-grams whatever its domain.
LINK_WORD = "replyguardlink"
# Between the form's fields in comment_text: a control character, replaced in every field.
FIELD = "\x1e"
WORD = re.compile(r"[^\W\d_]+")
# Pages on other sites that form spam points its Website at: profiles, guestbooks, forums.
PROFILE_PATH = re.compile(
    r"/(?:user|users|profile|profiles|member|members|author|lover|people|u|gast|guestbook"
    r"|forum|comment|node|component|index\.php|home\.php|link\.php)\b",
    re.I,
)
# The category a spam kit puts in the Name field ("Home Improvement", "Health & Fitness").
TOPIC_WORDS = frozenset(
    """technology business health fitness travel leisure improvement garden finance sports
    wedding pets animal arts career jobs food cooking automotive jewelry recreation computer
    internet games dating legal fashion education estate relationship marketing shopping seo
    insurance loans casino poker judi bola taruhan attorney lawyer dentist plumber roofing
    restaurant hotel hotels flights vacation vitamins reviews review cheap discount
    diet weight loss supplements forex crypto bitcoin trading escort escorts""".split()
)  # fmt: skip
PRAISE_WORDS = frozenset(
    """great good nice awesome wonderful fantastic excellent amazing superb brilliant
    informative helpful useful thanks thank appreciate appreciated enjoyed bookmarked bookmark
    impressed remarkable fastidious pleasant valuable lovely outstanding incredible""".split()
)  # fmt: skip
SITE_WORDS = frozenset(
    """post posts posting blog blogs weblog website site web webpage page writeup write
    article articles content information info theme template layout writing""".split()
)  # fmt: skip


class FormParts(NamedTuple):
    body: str
    author_name: str
    author_url: str
    trusted_hosts: frozenset  # hosts of its links that are trusted sources


def comment_text(
    *,
    body: str,
    author_name: str = "",
    author_url: str = "",
    trusted_domains: frozenset = domains.SEED_TRUSTED,
) -> str:
    """The whole form as the model reads it, in one string: body, name and website, plus which
    of its links point at trusted sources (by `trusted_domains`: the seed in training, the
    newsroom's LinkDomain list when scoring). The email is never part of it."""
    fields = [field.replace(FIELD, " ").strip() for field in (body, author_name, author_url)]
    hosts = domains.link_hosts(f"{fields[0]} {fields[2]}")
    trusted = sorted({host for host in hosts if domains.listed(host, trusted_domains)})
    return FIELD.join([*fields, " ".join(trusted)])


# Every block of the model reads the form: parse each text once per batch, not five times.
# 1,024 holds a worker's batch (REPLYGUARD_SCORING_BATCH, 100) with room to spare.
@lru_cache(maxsize=1024)
def form_parts(text: str) -> FormParts:
    """comment_text's fields back; a plain string is a body alone."""
    body, name, url, trusted = (text.split(FIELD) + ["", "", ""])[:4]
    return FormParts(body, name, url, frozenset(trusted.split()))


# --- Features -----------------------------------------------------------------------------------


def link_signals(text: str) -> list[str]:
    """Named signals of each link in the body: its registered domain (a reputation the model
    learns) and its kind. No link count and no "mostly a link": readers cite sources, and on
    news comments both pushed them towards spam."""
    form = form_parts(text)
    signals = []
    for host in domains.link_hosts(form.body):
        signals += [f"a link to {domains.registered_domain(host)}", _link_kind(host, form)]
        if _keyword_domain(host, form):
            signals.append("a link to a keyword domain")
    if "youtube" in form.body.lower() and CHANNEL_PATH.search(form.body):
        signals.append("a link to a YouTube channel")
    return signals


def _link_kind(host: str, form: FormParts) -> str:
    if host in form.trusted_hosts:
        return "a link to a trusted source"
    if domains.registered_domain(host) in domains.SHORTENERS:
        return "a shortened link"
    return "a link to an unknown site"


def _keyword_domain(host: str, form: FormParts) -> bool:
    """Spam sites are named for what they sell: hyphens, digits or a long run of words
    (raspberryketone-max.com, downtownkansascityhotels.net) rather than a brand."""
    if host in form.trusted_hosts:
        return False
    name = domains.registered_domain(host).split(".")[0]
    return "-" in name or bool(DIGIT.search(name)) or len(name) >= 15


def form_signals(text: str) -> list[str]:
    """Named signals of the Website and Name fields, and of the body's kind of praise: where
    form spam hides (a keyword as the name, a link in the Website field, praise that would fit
    any post). Nothing here fires on a plain name or an empty Website field."""
    form = form_parts(text)
    return _website_signals(form) + _name_signals(form) + _praise_signals(form.body)


def _website_signals(form: FormParts) -> list[str]:
    """Only what marks a Website as form spam's: readers' own sites are plain home pages, and
    "has a website" alone would be learned from spam rows only (no training ham has one)."""
    host = domains.host_of(form.author_url) if form.author_url else ""
    if not host:
        return []
    signals = []
    if host in form.trusted_hosts:
        signals.append("website field: a trusted source")
    elif domains.registered_domain(host) in domains.SHORTENERS:
        signals.append("website field: a shortened link")
    if _keyword_domain(host, form):
        signals.append("website field: a keyword domain")
    path = urlsplit(form.author_url if "//" in form.author_url else f"//{form.author_url}")
    if PROFILE_PATH.search(path.path) or path.query:
        signals.append("website field: a profile or forum page on another site")
    return signals


def _name_signals(form: FormParts) -> list[str]:
    name = " ".join(form.author_name.split())
    if not name:
        return []
    words = WORD.findall(name.lower())
    signals = []
    if domains.link_hosts(name) or "@" in name:
        signals.append("name: a web address")
    if any(word in TOPIC_WORDS for word in words):
        signals.append("name: a topic, not a person")
    if len(words) >= 4 or (len(words) >= 2 and name == name.lower()):
        signals.append("name: a phrase, not a person")
    return signals


def _praise_signals(body: str) -> list[str]:
    """Praise that names the post or the site and little else: "You have brought up a very good
    points, regards for the post." Most of its words are praise, site words or stop words; a
    reader's thanks comes with an argument of their own."""
    words = WORD.findall(body.lower())
    if not words or len(words) > 80 or domains.link_hosts(body):
        return []
    found = set(words)
    if not (found & PRAISE_WORDS and found & SITE_WORDS):
        return []
    generic = sum(w in PRAISE_WORDS or w in SITE_WORDS or w in ENGLISH_STOP_WORDS for w in words)
    return ["generic praise of the post or site"] if generic >= 0.6 * len(words) else []


def style_signals(text: str) -> list[str]:
    """Named character patterns of the body outside links. No money amounts and no length
    beyond "very short": news readers quote prices and write ~5x longer than any training ham."""
    return _style_signals(URL.sub(" ", form_parts(text).body))


def _style_signals(rest: str) -> list[str]:
    # Counting what is left after a regex (C) deletes the rest: 4x faster than per-character
    # Python on long comments, 1.6x faster than findall's list of one-letter strings.
    letters, capitals = len(NOT_LETTER.sub("", rest)), len(NOT_CAPITAL.sub("", rest))
    share = capitals / (letters or 1)
    checks = {
        "all capitals": letters >= 8 and share > 0.7,
        "many capitals": letters >= 8 and 0.3 < share <= 0.7,
        "many digits": len(NOT_DIGIT.sub("", rest)) > 0.1 * max(len(rest), 1),
        "repeated characters": bool(REPEATED.search(rest)),
        "exclamation marks": rest.count("!") >= 2,
        "phone number": bool(PHONE_LIKE.search(rest)),
        "email address": bool(EMAIL.search(rest)),
        "very short": len(rest.strip()) < 15,
    }
    return [name for name, present in checks.items() if present]


def body_words(text: str) -> str:
    """The body, as the word n-grams read it. A plain function: the artifact stores a
    reference to it, and skops trusts functions, not cache wrappers."""
    return _body_words(text)


@lru_cache(maxsize=1024)  # the word and the character n-grams both read it
def _body_words(text: str) -> str:
    return links_as_domain_words(form_parts(text).body)


def links_as_domain_words(text: str) -> str:
    """Lowercased text with each link cut to its domain plus LINK_WORD. A long URL otherwise
    makes dozens of character n-grams that outweigh the words: readers citing sources looked
    like spam. LINK_WORD lets an unseen domain still count as a link. NFKC first: spammers
    write "ｗｗｗ.ｅｂａｙ.ｃｏｍ" in full-width letters to pass filters."""
    text = unicodedata.normalize("NFKC", text)
    return URL.sub(lambda link: f" {domains.host_of(link.group())} {LINK_WORD} ", text).lower()


def char_ngrams(text: str) -> set[str]:
    """The distinct 2- to 5-character n-grams over the whole text, across spaces: "e out m" or
    "my c" carry the phrase and not only its words. One comprehension: 3x faster than
    scikit-learn's. A set: every block counts an n-gram once per comment (binary)."""
    line = _char_line(body_words(text).split())
    return {line[i : i + n] for n in CHAR_NGRAMS for i in range(len(line) - n + 1)}


def _char_line(words: list[str]) -> str:
    # Every digit reads as 0, so unseen phone numbers and prices share n-grams with known ones.
    # One space between words and one at each end: _grams_by_word relies on this layout.
    return _digits_as_zero(f" {' '.join(words)} ")


def _digits_as_zero(text: str) -> str:
    return DIGIT.sub("0", text)


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
    line, grams = _char_line(words), {}
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


class UnusableModelError(Exception):
    pass


def artifact_path(model_dir: Path, version: str) -> Path:
    return model_dir / f"{version}.skops"


def report_path(model_dir: Path, version: str) -> Path:
    return model_dir / f"{version}.report.json"


def _write_atomic(path: Path, data: bytes) -> None:
    # A reader sees the old file or the new one, never half of one.
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def save_model(pipeline: Pipeline, *, model_dir: Path, report: dict) -> str:
    model_dir.mkdir(parents=True, exist_ok=True)
    artifact = {"format_version": MODEL_FORMAT_VERSION, "pipeline": pipeline}
    # The hashed coefficients and idf vectors are mostly constant: deflate shrinks them ~10x.
    data = skops.io.dumps(artifact, compression=zipfile.ZIP_DEFLATED)
    digest = hashlib.sha256(data).hexdigest()
    version = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{digest[:6]}"
    _write_atomic(artifact_path(model_dir, version), data)
    stamped = {"version": version, "format_version": MODEL_FORMAT_VERSION, "sha256": digest}
    _write_atomic(report_path(model_dir, version), json.dumps(stamped | report, indent=2).encode())
    return version


def saved_versions(model_dir: Path) -> list[str]:
    """Every saved version, oldest first (versions start with their UTC timestamp)."""
    paths = [p for p in Path(model_dir).glob("*.skops") if VERSION.fullmatch(p.stem)]
    # Two versions saved in one second tie on the timestamp: the file's age breaks the tie.
    return [p.stem for p in sorted(paths, key=lambda p: (p.stem[:15], p.stat().st_mtime_ns))]


def activate_version(model_dir: Path, version: str) -> None:
    if not artifact_path(model_dir, version).is_file():
        raise FileNotFoundError(artifact_path(model_dir, version))
    _write_atomic(model_dir / ACTIVE_FILE, version.encode())
    with (model_dir / HISTORY_FILE).open("a") as history:
        history.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {version}\n")


def previous_version(model_dir: Path) -> str | None:
    """The version active before the current one (rolling back twice returns, like `cd -`)."""
    current = active_version(model_dir)
    try:
        lines = (model_dir / HISTORY_FILE).read_text().split("\n")
    except OSError:
        return None
    earlier = [line.split()[-1] for line in lines if line.strip()]
    return next((version for version in reversed(earlier) if version != current), None)


# (model_dir, role) -> (version, model or None): one load per version and role per process.
_loaded: dict[tuple[Path, str], tuple[str, SpamModel | None]] = {}
# What a model that does not load costs, by its role: said in the warning.
WITHOUT_IT = {"active": "comments will be held", "shadow": "shadow scoring is off"}


def load_active_model(model_dir: Path | None = None, *, warn: bool = True) -> SpamModel | None:
    """The active model, or None (log a warning; comments then wait for a moderator). Training
    asks with warn=False and says itself at the end whether a model is active (said in the
    middle, it was said twice, and wrongly). Reads ACTIVE on every call (one small file), so a
    worker follows an activation at once."""
    if model_dir is None:
        from django.conf import settings

        model_dir = settings.REPLYGUARD_MODEL_DIR
    model_dir = Path(model_dir)
    version = active_version(model_dir)
    if version is None:
        if warn:
            logger.warning("No active spam model in %s: comments will be held", model_dir)
        return None
    return load_once(model_dir, version, role="active")


def load_once(model_dir: Path, version: str, *, role: str) -> SpamModel | None:
    """`version` for `role` ("active" or "shadow"), loaded once per process while it keeps
    that role; None if it does not load (logged once: any failure means "go on without it",
    never a crashed worker)."""
    cached_version, model = _loaded.get((model_dir, role), (None, None))
    if cached_version != version:
        model = _load_or_none(model_dir, version, role)
        _loaded[model_dir, role] = (version, model)
    return model


def active_version(model_dir: Path) -> str | None:
    try:
        version = (Path(model_dir) / ACTIVE_FILE).read_text().strip()
    except OSError:
        return None
    return version if VERSION.fullmatch(version) else None


def _load_or_none(model_dir: Path, version: str, role: str) -> SpamModel | None:
    path = artifact_path(model_dir, version)
    try:
        return load_version(path, version)
    except Exception as error:
        logger.warning("Spam model %s not loaded, %s: %r", path, WITHOUT_IT[role], error)
        return None


def load_version(path: Path, version: str) -> SpamModel:
    # One read for hash, type check and load, so the file cannot change between them.
    data = path.read_bytes()
    if not hashlib.sha256(data).hexdigest().startswith(version[-6:]):
        raise UnusableModelError("content does not match the hash in its version")
    untrusted = set(skops.io.get_untrusted_types(data=data))
    if untrusted - TRUSTED_TYPES:
        raise UnusableModelError(f"untrusted types {sorted(untrusted - TRUSTED_TYPES)}")
    artifact = skops.io.loads(data, trusted=sorted(untrusted))
    if not isinstance(artifact, dict) or artifact.get("format_version") != MODEL_FORMAT_VERSION:
        raise UnusableModelError(f"format is not version {MODEL_FORMAT_VERSION}")
    return SpamModel(version=version, pipeline=artifact["pipeline"])

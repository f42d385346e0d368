"""The training data: the datasets the repository ships (and the evaluation-only news
comments where present) read into LabeledTexts, and the fixed held-out split every model is
evaluated on. Credits for each source are here and in every report."""

import csv
import hashlib
import html
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from moderation.spam.features import comment_text, form_parts

# Credit owed to the data in every report (each dataset's README).
CREDITS = {
    "youtube": "UCI YouTube Spam Collection (Alberto, Lochter, Almeida 2015)",
    "sms": "UCI SMS Spam Collection (Almeida, Gómez Hidalgo 2011)",
    "civil": "Civil Comments via the SemEval-2021 Toxic Spans data (CC0)",
    "blog": "one WordPress blog's comment spam, sidtuli/spam-analysis (WTFPL)",
    "stackexchange": "Stack Exchange, Inc. and the comment authors, CC BY-SA",
    "news": "SFU Opinion and Comments Corpus (CC BY-NC-SA 4.0), evaluation only",
}
HTML_TAG = re.compile(r"<[^>]+>")
NEWS_USE = "evaluation only (never trained on); used to choose the default thresholds"


@dataclass(frozen=True)
class LabeledTexts:
    texts: list[str]  # comment_text: the form as the model reads it
    labels: list[int]  # 1 = spam
    groups: list[str]  # dedup key: identical texts must stay on one side of a split
    # "youtube:Psy", "sms", "civil", "blog", "stackexchange:tor", "moderators", "sites"
    sources: list[str]
    # Rows every model is evaluated on and none trains on: a fixed part of Civil Comments, the
    # later blog spam and one whole Stack Exchange site (see load_training_data).
    fixed_test: list[bool]

    def subset(self, rows) -> "LabeledTexts":
        pick = [list(np.array(column, dtype=object)[rows]) for column in self._columns()]
        return LabeledTexts(*pick)

    def __add__(self, other: "LabeledTexts") -> "LabeledTexts":
        joined = (a + b for a, b in zip(self._columns(), other._columns(), strict=True))
        return LabeledTexts(*joined)

    def _columns(self):
        return self.texts, self.labels, self.groups, self.sources, self.fixed_test


# --- Data ---------------------------------------------------------------------------------------


def dedup_key(text: str) -> str:
    return " ".join(text.lower().split())


def youtube_text(content: str) -> str:
    # Strip tags before unescaping, so an escaped "&lt;3" survives as "<3".
    without_tags = HTML_TAG.sub(" ", content.replace("<br />", "\n"))
    return html.unescape(without_tags).replace("\ufeff", "").strip()


def load_youtube(path: Path) -> list[tuple[str, int]]:
    # DATE and AUTHOR are never read: DATE is empty exactly for Eminem's spam rows (a label leak).
    with path.open(encoding="utf-8", newline="") as f:
        return [(youtube_text(row["CONTENT"]), int(row["CLASS"])) for row in csv.DictReader(f)]


def load_sms(path: Path) -> list[tuple[str, int]]:
    # label<TAB>text with unescaped quotes: split on the first tab, never parse it as CSV.
    pairs = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return [(text, int(label == "spam")) for label, text in pairs]


def training_files(datasets_dir: Path) -> dict[str, Path]:
    youtube = sorted((datasets_dir / "youtube-spam").glob("Youtube0*-*.csv"))
    if not youtube:
        raise FileNotFoundError(f"no Youtube0*-*.csv in {datasets_dir / 'youtube-spam'}")
    files = {f"youtube:{path.stem.split('-', 1)[1]}": path for path in youtube}
    return files | {
        "sms": datasets_dir / "sms-spam" / "SMSSpamCollection",
        "civil": datasets_dir / "civil-comments" / "civil_comments_toxic_spans.csv",
        "blog": datasets_dir / "blog-spam-wordpress" / "wordpress_spam.csv",
        "stackexchange": datasets_dir
        / "stackexchange-links"
        / "stackexchange_comments_with_links.csv",
    }


def news_file(evaluation_dir: Path) -> Path:
    return evaluation_dir / "news-comments-dev" / "sfu_ctc_dev.csv"


def news_missing_note(evaluation_dir: Path | str) -> str:
    return (
        f"news-comments-dev not found in {evaluation_dir}: skipped (SFU Opinion and Comments "
        "Corpus, CC BY-NC-SA 4.0, evaluation only, so the repository never ships it). The news "
        "figures read the held-out Civil Comments alone. To add it: its rows come from GitHub "
        "sfu-discourse-lab/Constructiveness_Toxicity_Corpus; set REPLYGUARD_EVALUATION_DATASETS_DIR"
        " to a folder holding news-comments-dev/sfu_ctc_dev.csv (docs/data.md)."
    )


# Civil Comments rows whose id hashes to 0 mod 5 (20%) are never trained on.
CIVIL_TEST_MODULUS = 5
# The latest 30% of the blog spam (by submission time) is never trained on: next month's spam.
BLOG_TEST_SHARE = 0.3
# The Stack Exchange site held out whole from the shipped model (the bench leaves out each).
HELD_OUT_SITE = "bicycles"


def labeled_texts(pairs: list[tuple[str, int]], source: str, fixed_test=None) -> LabeledTexts:
    texts = [text for text, _ in pairs]
    labels = [int(label) for _, label in pairs]
    fixed = list(fixed_test) if fixed_test is not None else [False] * len(texts)
    groups = [dedup_key(form_parts(t).body) for t in texts]
    return LabeledTexts(texts, labels, groups, [source] * len(texts), fixed)


def load_training_data(datasets_dir: Path, *, held_out_site: str = HELD_OUT_SITE) -> LabeledTexts:
    data = LabeledTexts([], [], [], [], [])
    for source, path in training_files(datasets_dir).items():
        loader = LOADERS.get(source, _youtube_rows)
        data += loader(path, source=source, held_out_site=held_out_site)
    return data


def _youtube_rows(path: Path, *, source: str, **options) -> LabeledTexts:
    pairs = [(comment_text(body=text), label) for text, label in load_youtube(path)]
    return labeled_texts(pairs, source)


def _sms_rows(path: Path, *, source: str, **options) -> LabeledTexts:
    pairs = [(comment_text(body=text), label) for text, label in load_sms(path)]
    return labeled_texts(pairs, source)


def _civil_rows(path: Path, *, source: str, **options) -> LabeledTexts:
    """Published news comments (ham); a fixed 20% by id is held out."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = [(comment_text(body=row["comment_text"]), 0) for row in rows]
    held = [zlib.crc32(row["comment_id"].encode()) % CIVIL_TEST_MODULUS == 0 for row in rows]
    return labeled_texts(pairs, source, held)


def _blog_rows(path: Path, *, source: str, **options) -> LabeledTexts:
    """A WordPress form's spam with its Name and Website (email and IP were never in it);
    the latest BLOG_TEST_SHARE by time is held out."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda row: (row["submitted"], row["comment_number"]))
    pairs = [
        (
            comment_text(body=row["comment"], author_name=row["author"], author_url=row["website"]),
            1,
        )
        for row in rows
    ]
    first_test = round(len(rows) * (1 - BLOG_TEST_SHARE))
    return labeled_texts(pairs, source, [i >= first_test for i in range(len(rows))])


def _stackexchange_rows(path: Path, *, source: str, held_out_site: str) -> LabeledTexts:
    """Comments that cite links (ham), one source per site; `held_out_site` is held out."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    data = LabeledTexts([], [], [], [], [])
    for site in sorted({row["site"] for row in rows}):
        pairs = [(comment_text(body=r["text"]), 0) for r in rows if r["site"] == site]
        data += labeled_texts(pairs, f"{source}:{site}", [site == held_out_site] * len(pairs))
    return data


LOADERS = {
    "sms": _sms_rows,
    "civil": _civil_rows,
    "blog": _blog_rows,
    "stackexchange": _stackexchange_rows,
}


def load_news_comments(evaluation_dir: Path | None) -> list[str]:
    """Legitimate news comments for evaluation and choosing thresholds: never train on them.
    None of them where the evaluation-only set is absent (news_missing_note says so)."""
    if evaluation_dir is None or not news_file(evaluation_dir).is_file():
        return []
    with news_file(evaluation_dir).open(encoding="utf-8", newline="") as f:
        return [comment_text(body=row["comment"]) for row in csv.DictReader(f)]


def held_out_split(data: LabeledTexts, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test). Test: every fixed_test row, plus 20% of the YouTube and SMS
    rows drawn with each dedup group wholly on one side. Train: the rest, less any row whose
    text is also a test row (the same spam template before and after the blog's time split).
    Deterministic, so every version is judged on the same rows while the datasets are unchanged."""
    fixed = np.array(data.fixed_test, dtype=bool)
    sources = np.array(data.sources, dtype=str)
    drawn = np.flatnonzero(~fixed & (np.char.startswith(sources, "youtube:") | (sources == "sms")))
    strata = [f"{data.sources[i]}:{data.labels[i]}" for i in drawn]
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    groups = [data.groups[i] for i in drawn]
    _, drawn_test = next(folds.split(drawn, strata, groups))
    test = np.sort(np.concatenate([np.flatnonzero(fixed), drawn[drawn_test]]))
    test_groups = {data.groups[i] for i in test}
    in_test = set(test.tolist())
    train = [
        i for i in range(len(data.texts)) if i not in in_test and data.groups[i] not in test_groups
    ]
    return np.array(train, dtype=int), test


def without_groups(extra: LabeledTexts, held_out: LabeledTexts) -> LabeledTexts:
    # A moderator label whose text is also a held-out row would leak that row into training.
    unseen = [i for i, group in enumerate(extra.groups) if group not in set(held_out.groups)]
    return extra.subset(unseen)


def datasets_report(
    datasets_dir: Path, data: LabeledTexts, evaluation_dir: Path | None, news_rows: int
) -> list[dict]:
    rows = Counter(data.sources)
    spam = Counter(s for s, label in zip(data.sources, data.labels, strict=True) if label)

    def counted(source: str, counter: Counter) -> int:
        return sum(n for s, n in counter.items() if s == source or s.startswith(f"{source}:"))

    trained = [
        _file_entry(datasets_dir, path, source=source, rows=counted(source, rows))
        | {"spam_rows": counted(source, spam), "credit": CREDITS[source.split(":")[0]]}
        for source, path in training_files(datasets_dir).items()
    ]
    if not news_rows:
        # Not the folder itself: a report travels with its model, a path of this host need not.
        missing = news_missing_note("REPLYGUARD_EVALUATION_DATASETS_DIR")
        return trained + [{"source": "news", "skipped": missing, "credit": CREDITS["news"]}]
    news = _file_entry(evaluation_dir, news_file(evaluation_dir), source="news", rows=news_rows)
    return trained + [news | {"use": NEWS_USE, "credit": CREDITS["news"]}]


def _file_entry(folder: Path, path: Path, **counts) -> dict:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"file": str(path.relative_to(folder)), "sha256": sha256, **counts}

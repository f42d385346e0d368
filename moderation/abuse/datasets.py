"""What the abuse model learns from and is judged on. `toxicity-wikipedia/`: 19,561 talk
comments labelled toxic or not, 20% held out by a fixed hash of the id (never trained on);
`toxic-spans/`: news comments with the offending characters marked, for the words a moderator
is shown (train and trial pick the cut-off, test judges it); the SFU news comments (evaluation
only, never shipped) where present."""

import csv
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

HELD_OUT_MODULUS = 5  # crc32(id) % 5 == 0: 20% of the rows, the same on every machine
WIKIPEDIA = Path("toxicity-wikipedia") / "wikipedia_toxicity.csv"
SPANS = Path("toxic-spans")
NEWS = Path("news-comments-dev") / "sfu_ctc_dev.csv"
NEWS_TOXIC = ("3", "4")  # the annotators' "toxic" and "very toxic" (1 = not toxic … 4)
CREDITS = {
    "toxicity-wikipedia": "Wikipedia talk comments (text CC BY-SA 3.0) labelled by Jigsaw / "
    "Conversation AI, Wulczyn et al. and Pavlopoulos et al. (labels CC0)",
    "toxic-spans": "SemEval-2021 Task 5 Toxic Spans Detection, Pavlopoulos et al. (CC0)",
    "news": "SFU Opinion and Comments Corpus (CC BY-NC-SA 4.0), evaluation only",
}


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: list[int]  # 1 = abusive
    sources: list[str]


def held_out(row_id: str) -> bool:
    return zlib.crc32(row_id.encode()) % HELD_OUT_MODULUS == 0


def wikipedia(datasets_dir: Path) -> tuple[Labelled, Labelled]:
    """(training rows, held-out rows)."""
    train, test = ([], [], []), ([], [], [])
    with (Path(datasets_dir) / WIKIPEDIA).open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            side = test if held_out(row["id"]) else train
            side[0].append(row["text"])
            side[1].append(int(row["label"]))
            side[2].append(row["source"])
    return Labelled(*train), Labelled(*test)


@dataclass(frozen=True)
class Spans:
    text: str
    offsets: frozenset[int]  # the characters annotators marked as the toxic part


def toxic_spans(datasets_dir: Path, split: str) -> list[Spans]:
    """One of tsd_train, tsd_trial, tsd_test."""
    with (Path(datasets_dir) / SPANS / f"tsd_{split}.csv").open(encoding="utf-8") as rows:
        return [
            Spans(row["text"], frozenset(json.loads(row["spans"]))) for row in csv.DictReader(rows)
        ]


def news_comments(evaluation_dir: Path | None) -> Labelled | None:
    """The SFU news comments with their rated toxicity, or None where they are not present."""
    path = Path(evaluation_dir) / NEWS if evaluation_dir else None
    if path is None or not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as rows:
        found = [
            (r["comment"], int(r["is_toxic_popular_answer_1"] in NEWS_TOXIC))
            for r in csv.DictReader(rows)
        ]
    return Labelled([t for t, _ in found], [label for _, label in found], ["news"] * len(found))

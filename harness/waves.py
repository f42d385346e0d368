"""Real comments for tests and benchmarks of campaigns: the news comments of news-comments-dev
once each, and spam waves built from a real spam row as campaigns vary it: spam_wave (rotated
names, emails and addresses; synonyms, spacing, case; links through shorteners) and
form_spam_wave (greetings, sign-offs, typos; a new keyword website each; senders who post
again from another address)."""

import csv
import html
import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.stack import PROJECT

# Outside Django (the benches, the test suite's module constants), the folders config/settings.py
# reads: the training data the repository ships, and the evaluation-only news comments it never
# ships, beside the project as their README asks.
DATASETS_DIR = Path(os.environ.get("REPLYGUARD_DATASETS_DIR", PROJECT / "datasets"))
EVALUATION_DIR = Path(
    os.environ.get("REPLYGUARD_EVALUATION_DATASETS_DIR", PROJECT.parent / "shared" / "datasets")
)
NEWS_FILE = Path("news-comments-dev") / "sfu_ctc_dev.csv"

# The SFU file lists some comments twice: once plain, once as a reply with the quote of its
# parent in front ("(In reply to:… -- Name)"), with other quote marks or entities, or with the
# page's "Reply" button scraped at the end, or cut short. One reader wrote each, so each is
# posted once: two rows are one comment when the letters of one contain the other's.
SAME_LETTERS_MIN = 30
SYNONYMS = {
    "great": ["awesome", "excellent", "wonderful"], "good": ["nice", "fine", "great"],
    "post": ["article", "write-up", "piece"], "article": ["post", "piece", "write-up"],
    "thanks": ["thank you", "many thanks", "thx"], "really": ["truly", "very"],
    "very": ["really", "quite"], "blog": ["site", "website"], "information": ["info", "content"],
    "check": ["look at", "see"], "visit": ["check out", "see"], "helpful": ["useful", "handy"],
}  # fmt: skip
# The blog spam row the tests' and the bench's wave is made from: generic praise asking to share
# the blog, long enough to be told from readers who agree.
WAVE_ROW = 9
SHORTENERS = ["bit.ly", "tinyurl.com", "goo.gl", "ow.ly", "is.gd"]
FIRST = ["Anna", "Brian", "Chen", "Dana", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jia", "Kofi",
         "Lena", "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]  # fmt: skip
MAIL = ["gmail.com", "yahoo.com", "outlook.com", "mail.ru", "proton.me", "hotmail.com"]


def news_file(evaluation_dir: Path) -> Path:
    """The evaluation-only news comments; a bench that needs them stops here without them."""
    path = evaluation_dir / NEWS_FILE
    if not path.is_file():
        sys.exit(
            f"{path} not found: the SFU news comments are evaluation-only (CC BY-NC-SA) and never "
            "shipped; set REPLYGUARD_EVALUATION_DATASETS_DIR to a folder holding them "
            "(docs/data.md says where to get them)."
        )
    return path


def news_comments(evaluation_dir: Path) -> list[str]:
    """Every comment of news-comments-dev (evaluation only, never shipped), once."""
    with news_file(evaluation_dir).open(encoding="utf-8") as f:
        texts = [row["comment"].strip() for row in csv.DictReader(f) if row["comment"].strip()]
    kept, once = [], []
    for text in texts:
        letters = "".join(c for c in html.unescape(text).casefold() if c.isalpha())
        if not any(_same_comment(letters, other) for other in kept):
            kept.append(letters)
            once.append(text)
    return once


def _same_comment(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return len(short) >= SAME_LETTERS_MIN and short in long or a == b


def blog_spam(datasets_dir: Path) -> list[dict]:
    with (datasets_dir / "blog-spam-wordpress" / "wordpress_spam.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class WaveComment:
    author_name: str
    author_email: str
    ip_address: str
    body: str
    article: int  # which of the wave's articles, 0-based
    author_url: str = ""


def spam_wave(base: str, *, size: int, authors: int, articles: int, seed: int = 0):
    """`size` variants of one spam text from `authors` rotating senders over `articles`."""
    rng = random.Random(seed)
    senders = [
        (f"{rng.choice(FIRST)} {rng.choice(FIRST)[0]}.", f"{rng.choice(FIRST).lower()}{n}"
         f"{rng.randrange(100, 999)}@{rng.choice(MAIL)}", f"{rng.randrange(11, 223)}."
         f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        for n in range(authors)
    ]  # fmt: skip
    wave = []
    for n in range(size):
        name, email, address = senders[n % authors]
        wave.append(WaveComment(name, email, address, variant(base, rng), n % articles))
    return wave


def variant(text: str, rng: random.Random) -> str:
    """The text as a spam tool varies it: a synonym or two, spacing, case, a new short link."""
    words = text.split(" ")
    swappable = [i for i, w in enumerate(words) if re.sub(r"\W", "", w.lower()) in SYNONYMS]
    for i in rng.sample(swappable, min(len(swappable), rng.randint(1, 2))):
        bare = re.sub(r"\W", "", words[i].lower())
        words[i] = words[i].lower().replace(bare, rng.choice(SYNONYMS[bare]))
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.replace(", ", ",")
    if rng.random() < 0.3:
        text = text.replace(" ", "  ", 2)
    if rng.random() < 0.3:
        text = text.upper() if rng.random() < 0.2 else text.lower()
    link = f"http://{rng.choice(SHORTENERS)}/{rng.getrandbits(40):x}"
    return f"{text} {link}" if rng.random() < 0.5 else f"{link} {text}"


GREETINGS = ["Hi!", "Hello there,", "Hey,", "Good day!", "Greetings!", "Hi there.", "Howdy,", ""]
SIGN_OFFS = ["Cheers", "Regards, {name}", "Thanks!", "Best wishes,\n{name}", "-- {name}", "Ta", ""]
KEYWORDS = ["mattress", "roofing", "keto-diet", "car-insurance", "seo-agency", "crypto-signals",
            "payday-loans", "dog-training", "vpn-review", "solar-panels", "forex"]  # fmt: skip
TLDS = ["com", "net", "info", "xyz", "online", "shop"]


def form_spam_wave(base: str, *, senders: int, posts_each: int, articles: int, seed: int):
    """Form spam as a comment tool sends it, unlike spam_wave: each of `senders` posts
    `posts_each` times (each time from another address, as through proxies, under one name and
    email), each comment the base text with a greeting, a sign-off, synonyms, a typo or two and
    a case change at random, and a new keyword website in the Website field."""
    rng = random.Random(seed)
    people = [
        (f"{rng.choice(FIRST)} {rng.choice(FIRST)}", f"{rng.choice(FIRST).lower()}.{n}"
         f"{rng.randrange(10, 99)}@{rng.choice(MAIL)}")
        for n in range(senders)
    ]  # fmt: skip
    wave = []
    for round_ in range(posts_each):
        for n, (name, email) in enumerate(people):
            address = ".".join(str(rng.randrange(1, 223)) for _ in range(3)) + f".{n % 250 + 1}"
            keyword = f"{rng.choice(['best', 'top', 'cheap', 'my', 'pro'])}-{rng.choice(KEYWORDS)}"
            site = f"https://{keyword}-{rng.randrange(10, 9999)}.{rng.choice(TLDS)}/"
            body = form_spam_variant(base, name, rng)
            wave.append(WaveComment(name, email, address, body, (n + round_) % articles, site))
    return wave


def form_spam_variant(text: str, name: str, rng: random.Random) -> str:
    words = text.split()
    swappable = [i for i, w in enumerate(words) if re.sub(r"\W", "", w.lower()) in SYNONYMS]
    for i in rng.sample(swappable, min(len(swappable), rng.randint(0, 3))):
        bare = re.sub(r"\W", "", words[i].lower())
        words[i] = words[i].lower().replace(bare, rng.choice(SYNONYMS[bare]))
    long_words = [i for i, w in enumerate(words) if len(w) > 4]
    for i in rng.sample(long_words, min(len(long_words), rng.randint(0, 2))):
        word, at = words[i], rng.randrange(1, len(words[i]) - 2)
        typo = rng.choice(["swap", "drop", "double"])
        if typo == "swap":
            words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        elif typo == "drop":
            words[i] = word[:at] + word[at + 1 :]
        else:
            words[i] = word[:at] + word[at] + word[at:]
    body = " ".join(words)
    if rng.random() < 0.2:
        body = body.lower() if rng.random() < 0.7 else body.upper()
    greeting, sign_off = rng.choice(GREETINGS), rng.choice(SIGN_OFFS).format(name=name.split()[0])
    return "\n".join(part for part in (greeting, body, sign_off) if part)

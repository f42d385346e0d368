"""How the spam model reads a comment: the form as one text (comment_text), and the words,
n-grams and named signals its pipeline hashes. The artifact names these functions
(spam.classifier.TRUSTED_TYPES): moving or renaming one is a new MODEL_FORMAT_VERSION."""

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from moderation import domains
from moderation.links import URL

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
    return _body_words_cached(text)


@lru_cache(maxsize=1024)  # the word and the character n-grams both read it
def _body_words_cached(text: str) -> str:
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
    line = char_line(body_words(text).split())
    return {line[i : i + n] for n in CHAR_NGRAMS for i in range(len(line) - n + 1)}


def char_line(words: list[str]) -> str:
    # Every digit reads as 0, so unseen phone numbers and prices share n-grams with known ones.
    # One space between words and one at each end: model._grams_by_word relies on this layout.
    return _digits_as_zero(f" {' '.join(words)} ")


def _digits_as_zero(text: str) -> str:
    return DIGIT.sub("0", text)

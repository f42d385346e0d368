"""What a campaign is told by: a comment's text as its own words (quotes, links and the
article's sentences out), the MinHash signature of its character 5-grams cut into band keys,
its Website's host and (when turned on) its sender's fingerprint. MinHash comes from datasketch
(the standard implementation; its update_batch hashes a text's shingles in one numpy pass)."""

import hashlib
import html
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from django.conf import settings

from moderation import domains
from moderation.models import Comment
from moderation.posters import network_address, private_sha256

PERMUTATIONS, BANDS = 64, 16  # 4 values a band: texts ~0.6 alike meet in a band 89% of the time
SHINGLE = 5
LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
WORD = re.compile(r"\w+")
SENTENCE = re.compile(r"(?<=[.!?])\s+")
# What a reader quotes is not their own text: double-quoted spans, "> " lines, and a reply's
# quote of the comment it answers as news platforms print it ("(In reply to:… -- Name)").
QUOTED = re.compile(r'"[^"]*"|“[^”]*”|^>.*$|\(In reply to:.*?--[^)]*\)', re.S | re.M)
SCHEME = "affine32"  # datasketch 2's default, named: stored signatures must stay comparable
_template = MinHash(num_perm=PERMUTATIONS, seed=1, scheme=SCHEME)  # its permutations, made once


def campaign_text(body: str, article_body: str = "") -> str:
    """The words that make a comment's text its own: lowercased, digits as 0, no links, no
    quotes, and without any sentence of the article (readers quoting the same line are not a
    campaign)."""
    words = " ".join(WORD.findall(QUOTED.sub(" ", LINK.sub(" ", html.unescape(body))).casefold()))
    words = re.sub(r"\d", "0", words)
    for quoted in article_sentences(article_body, settings.REPLYGUARD_CAMPAIGN_MIN_CHARS):
        if quoted in words:
            words = words.replace(quoted, " ")
    return " ".join(words.split())


@lru_cache(maxsize=64)  # a batch's comments are on a few articles
def article_sentences(article_body: str, min_chars: int) -> tuple[str, ...]:
    sentences = (" ".join(WORD.findall(s.casefold())) for s in SENTENCE.split(article_body))
    return tuple(re.sub(r"\d", "0", s) for s in sentences if len(s) >= min_chars)


def signature(text: str) -> np.ndarray | None:
    """The MinHash values of the text's character 5-grams; None for a text too short to tell a
    campaign from readers who happen to agree ("Well said.")."""
    if len(text) < settings.REPLYGUARD_CAMPAIGN_MIN_CHARS:
        return None
    minhash = MinHash(
        num_perm=PERMUTATIONS, permutations=_template.permutations, scheme=SCHEME, hashfunc=int
    )
    minhash.update_batch(shingle_hashes(text))
    return minhash.hashvalues.astype(np.uint32)


# A polynomial hash of each 5-byte window, in one numpy pass (uint32 arithmetic wraps, as a
# hash should); datasketch mixes it (fmix32) before its permutations. Hashing each shingle
# with SHA-1 in Python, datasketch's default, cost more than all the rest of a lookup.
_POWERS = np.array([257**i % 2**32 for i in range(SHINGLE - 1, -1, -1)], dtype=np.uint32)


def shingle_hashes(text: str) -> np.ndarray:
    data = np.frombuffer(text.encode(), dtype=np.uint8).astype(np.uint32)
    return np.unique(np.lib.stride_tricks.sliding_window_view(data, SHINGLE) @ _POWERS)


def _key(kind: str, value: bytes) -> int:
    return int.from_bytes(
        hashlib.blake2b(kind.encode() + value, digest_size=8).digest(), "big", signed=True
    )


def band_keys(values: np.ndarray) -> list[int]:
    rows = PERMUTATIONS // BANDS
    return [_key(f"band{b}:", values[b * rows : (b + 1) * rows].tobytes()) for b in range(BANDS)]


def website_host(comment: Comment, lists: domains.DomainLists) -> str:
    """The Website field's host, unless a trusted source. Only the Website: links in the text
    are readers citing sources (several cite the same paper), while form spam puts what it
    sells in the Website field. The host, not its registered domain: blogspot.ca or a news
    site's profile pages are many people's."""
    host = domains.host_of(comment.author_url) if comment.author_url else ""
    return "" if not host or domains.listed(host, lists.trusted | domains.SEED_TRUSTED) else host


@dataclass
class CampaignKeys:
    """The keys a comment is indexed and looked up under (not rules.text_fingerprint, which
    tells repeats of one text)."""

    text_keys: list[int]
    link_keys: dict[int, str]  # key -> the Website's host, for the moderator's words
    values: np.ndarray | None
    sender_keys: list[int] = ()  # its sender's fingerprint (sender_key), when it has one

    @property
    def keys(self) -> list[int]:
        return [*self.text_keys, *self.link_keys, *self.sender_keys]


def campaign_keys(comment: Comment, lists: domains.DomainLists) -> CampaignKeys:
    values = signature(campaign_text(comment.body, comment.article.body))
    host = website_host(comment, lists)
    links = {_key("link:", host.encode()): host} if host else {}
    sender = sender_key(comment)
    return CampaignKeys(
        band_keys(values) if values is not None else [], links, values, [sender] if sender else []
    )


def sender_key(comment: Comment) -> int | None:
    """One sender behind several names: the same email domain, network (/24, /48) and browser.
    Only counted across articles (a family or an office on one story is not a campaign), and
    only with all three known."""
    domain = comment.author_email.rpartition("@")[2]
    if not (settings.REPLYGUARD_CAMPAIGN_BY_SENDER and domain and comment.ip_address):
        return None
    if not comment.user_agent:
        return None
    network = network_address(comment.ip_address, ipv4_prefix=24, ipv6_prefix=48)
    # Keyed (posters.private_sha256): a plain hash of these would confirm a guessed sender.
    return _key("sender:", private_sha256(f"{domain}|{network}|{comment.user_agent}").encode())


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The share of equal MinHash values: an estimate of the texts' Jaccard similarity."""
    return float(np.mean(a == b))

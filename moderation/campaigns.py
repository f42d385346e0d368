"""Spam waves as one thing: comments from different authors grouped into a Campaign when their
text is nearly the same (MinHash over character 5-grams, with quotes, the article's own
sentences and links taken out first) or they give the same website (not a trusted source),
within a time window.

MinHash comes from datasketch (the standard implementation; its update_batch hashes a text's
shingles in one numpy pass). The LSH index is ours, in the database (CampaignKey: one row per
signature band, and one for the website), so every worker process shares it and a lookup
is one indexed query however many comments are indexed."""

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from datasketch import MinHash
from django.conf import settings

from moderation import domains
from moderation.models import Campaign, CampaignKey, Comment, TextSignature

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
    for sentence in SENTENCE.split(article_body):
        quoted = " ".join(WORD.findall(sentence.casefold()))
        if len(quoted) >= settings.REPLYGUARD_CAMPAIGN_MIN_CHARS and quoted in words:
            words = words.replace(quoted, " ")
    return " ".join(words.split())


def signature(text: str) -> np.ndarray | None:
    """The MinHash values of the text's character 5-grams; None for a text too short to tell a
    campaign from readers who happen to agree ("Well said.")."""
    if len(text) < settings.REPLYGUARD_CAMPAIGN_MIN_CHARS:
        return None
    minhash = MinHash(num_perm=PERMUTATIONS, permutations=_template.permutations, scheme=SCHEME)
    minhash.update_batch([text[i : i + SHINGLE].encode() for i in range(len(text) - SHINGLE + 1)])
    return minhash.hashvalues.astype(np.uint32)


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
class Fingerprint:
    text_keys: list[int]
    link_keys: dict[int, str]  # key -> the Website's host, for the moderator's words
    values: np.ndarray | None


def fingerprint(comment: Comment, lists: domains.DomainLists) -> Fingerprint:
    values = signature(campaign_text(comment.body, comment.article.body))
    host = website_host(comment, lists)
    links = {_key("link:", host.encode()): host} if host else {}
    return Fingerprint(band_keys(values) if values is not None else [], links, values)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The share of equal MinHash values: an estimate of the texts' Jaccard similarity."""
    return float(np.mean(a == b))


def comments_group(comments: list[Comment], lists: domains.DomainLists) -> dict[int, Campaign]:
    """Find each comment's campaign (joining or founding one), index it for the comments that
    come after, and return {comment id: its Campaign} for those in one. In order, so a batch's
    comments find each other too."""
    found = {}
    for comment in comments:
        campaign = _comment_group(comment, lists)
        if campaign is not None:
            found[comment.pk] = campaign
    return found


def _comment_group(comment: Comment, lists: domains.DomainLists) -> Campaign | None:
    prints = fingerprint(comment, lists)
    keys = prints.text_keys + list(prints.link_keys)
    if not keys:
        return None
    matches, shared = _matches(comment, prints, keys)
    campaign = None
    if comment.campaign_id is not None:
        campaign = comment.campaign
    elif joined := sorted({m.campaign_id for m in matches if m.campaign_id}):
        campaign = Campaign.objects.get(pk=joined[0])
    elif any(m.author_email != comment.author_email for m in matches):
        campaign = Campaign.objects.create(shared=shared)
        ids = [m.pk for m in matches if m.campaign_id is None]
        Comment.objects.filter(pk__in=ids).update(campaign=campaign)  # no reader sees it
    if campaign is not None and comment.campaign_id != campaign.pk:
        Comment.objects.filter(pk=comment.pk).update(campaign=campaign)
        comment.campaign = campaign
    _index(comment, prints, keys)
    return campaign


def _matches(comment: Comment, prints: Fingerprint, keys: list[int]):
    """The recent comments it belongs with, newest first, and what it shares with them."""
    since = comment.created_at - timedelta(hours=settings.REPLYGUARD_CAMPAIGN_WINDOW_HOURS)
    rows = list(
        CampaignKey.objects.filter(key__in=keys, created_at__gte=since)
        .exclude(comment=comment.pk)
        .order_by("-created_at")
        .values_list("comment_id", "key")[: settings.REPLYGUARD_CAMPAIGN_CANDIDATES]
    )
    by_link = {cid: prints.link_keys[key] for cid, key in rows if key in prints.link_keys}
    by_text = {cid for cid, key in rows if key not in prints.link_keys} - set(by_link)
    if by_text and prints.values is not None:
        stored = TextSignature.objects.filter(comment_id__in=by_text).values_list(
            "comment_id", "values"
        )
        limit = settings.REPLYGUARD_CAMPAIGN_SIMILARITY
        by_text = {
            cid
            for cid, values in stored
            if similarity(prints.values, np.frombuffer(bytes(values), dtype=np.uint32)) >= limit
        }
    ids = set(by_link) | by_text
    if not ids:
        return [], ""
    matches = list(Comment.objects.filter(pk__in=ids).only("pk", "author_email", "campaign_id"))
    if by_link:
        return matches, f"the website {sorted(set(by_link.values()))[0]}"
    return matches, "near-identical text"


def _index(comment: Comment, prints: Fingerprint, keys: list[int]) -> None:
    CampaignKey.objects.bulk_create(
        CampaignKey(key=key, comment_id=comment.pk, created_at=comment.created_at) for key in keys
    )
    if prints.values is not None:
        TextSignature.objects.update_or_create(
            comment_id=comment.pk, defaults={"values": prints.values.tobytes()}
        )

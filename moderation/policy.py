"""The scoring chain, in one place: rules, the spam and abuse models' scores, the article's
policy, a campaign a moderator decided and a floor turn each comment into a Verdict
(verdicts_reach). No database and no scikit-learn (the models come loaded): the worker, the
Akismet door and shadow mode all ask it; services apply the verdicts."""

from dataclasses import dataclass, replace
from typing import NamedTuple

from django.conf import settings

from articles.models import Article
from moderation import abuse, rules, spam
from moderation.models import Campaign, Cause, Comment, Verdict
from moderation.wording import percent

Status = Comment.Status


ACTIVE = object()  # verdicts_reach's default model: the active one


class Case(NamedTuple):
    """One comment as the chain reads it: the form, where it was posted, and what the caller
    knows of its author and its text's company."""

    body: str
    author_name: str
    author_url: str
    article: Article  # its policy; an unsaved Article is the site defaults (the Akismet door)
    standing: rules.AuthorStanding
    grouped: object = None  # grouping.Grouped: the campaign it joins or matches
    floor: Verdict | None = None  # what it may not be decided below (scoring.floor_of)


def verdicts_reach(
    cases: list[Case],
    *,
    lists: rules.RuleLists,
    model=ACTIVE,
    abuse_model=ACTIVE,
    explain: bool = True,
) -> list[Verdict]:
    """A Verdict per case, strictest answer first (comment_verdict), then a moderator's
    campaign decision (campaign_verdict), then the floor (with_floor). `model`: a loaded
    spam.classifier.SpamModel (shadow mode's candidate), or by default the active one, loaded
    at this first call (spam.active_model; None if none is installed: then held, no model).
    `abuse_model` likewise (abuse.active_model; None: nothing is held for abuse). Each model
    scores all texts in one call. Unless explain is False (or a model is Reused: the scores an
    earlier pass gave), the words that made an abuse score are worked out from
    REPLYGUARD_ABUSE_WORDS_FROM up, and the spam reasons for the comments not published."""
    if model is ACTIVE:
        model = spam.active_model()
    if abuse_model is ACTIVE:
        abuse_model = abuse.active_model()
    trusted = lists.domain_lists.trusted
    explain = explain and not isinstance(model, Reused) and not isinstance(abuse_model, Reused)
    spam_scores = [None] * len(cases)
    if model is not None:
        spam_scores = model.cases_probabilities(cases, trusted)
    abuse_scores, words = [None] * len(cases), [[] for _ in cases]
    if abuse_model is not None:
        abuse_scores = abuse_model.abuse_probabilities([case.body for case in cases])
    if explain and abuse_model is not None:  # the words of every comment that may be looked at
        wordy = [i for i, p in enumerate(abuse_scores) if p >= settings.REPLYGUARD_ABUSE_WORDS_FROM]
        found = abuse_model.offending_words_of([cases[i].body for i in wordy]) if wordy else []
        for i, spans in zip(wordy, found, strict=True):
            words[i] = [[start, end] for start, end in spans]
    verdicts = []
    for case, p, abuse_p, spans in zip(cases, spam_scores, abuse_scores, words, strict=True):
        hits = rules.rule_hits(
            body=case.body,
            author_url=case.author_url,
            word_rules=lists.word_rules,
            domain_lists=lists.domain_lists,
        )
        shown = tuple(case.body[start:end] for start, end in spans)
        verdict = comment_verdict(
            article=case.article,
            spam_probability=p,
            hits=hits,
            standing=case.standing,
            abusive=Abuse(abuse_p, shown),
        )
        verdict = with_floor(campaign_verdict(case.grouped, verdict), case.floor)
        scores = {}
        if model is not None:
            scores = {"spam_score": p, "model_version": model.version, "spam_reasons": []}
        if abuse_model is not None:
            scores |= {"abuse_score": abuse_p, "abuse_model_version": abuse_model.version}
            scores["abuse_words"] = spans
        verdicts.append(replace(verdict, rule_hits=[hit.reason for hit in hits], **scores))
    # The spam model's reasons are for a moderator's eyes (the queue, the comment's page):
    # worked out only for the comments a moderator will see, not for every published one
    # (they were most of the spam model's time).
    seen = [i for i, verdict in enumerate(verdicts) if verdict.status != Status.PUBLISHED]
    if explain and model is not None and seen:
        explained = model.cases_scores_and_reasons([cases[i] for i in seen], trusted)
        for i, (_, reasons) in zip(seen, explained, strict=True):
            verdicts[i] = replace(verdicts[i], spam_reasons=reasons)
    return verdicts


@dataclass(frozen=True)
class Reused:
    """A model's scores from the active pass over the same cases, standing in for the model
    in verdicts_reach (which then explains nothing): shadow mode scores only its candidate
    again."""

    version: str
    probabilities: list

    @classmethod
    def spam_of(cls, verdicts: list[Verdict]):
        """The active spam model's scores in `verdicts`, or None if none scored them."""
        return cls._of(verdicts, "model_version", "spam_score")

    @classmethod
    def abuse_of(cls, verdicts: list[Verdict]):
        return cls._of(verdicts, "abuse_model_version", "abuse_score")

    @classmethod
    def _of(cls, verdicts, version_field: str, score_field: str):
        version = next((getattr(v, version_field) for v in verdicts), "")
        return cls(version, [getattr(v, score_field) for v in verdicts]) if version else None

    def cases_probabilities(self, cases, trusted) -> list:
        return self.probabilities

    def abuse_probabilities(self, texts) -> list:
        return self.probabilities


class Abuse(NamedTuple):
    """What the abuse model made of a comment: its probability (None: no abuse model) and the
    words that made it."""

    probability: float | None = None
    words: tuple[str, ...] = ()


NOT_SCORED = Abuse()


def comment_verdict(
    *,
    article: Article,
    spam_probability: float | None,
    hits: list,
    standing,
    abusive: Abuse = NOT_SCORED,
) -> Verdict:
    """The verdict on a scored comment before campaigns and floors, strictest first: a banned
    word rejects, then the abuse reject band (off unless set), a link to a blocked domain or
    the model's spam band files as spam, then anything that asks for a human holds (the abuse
    hold band first), and only then does the model's band publish."""
    strict = [hit for hit in hits if hit.status in (Status.REJECTED, Status.SPAM)]
    if strict and strict[0].status == Status.REJECTED:  # a banned word
        return Verdict(strict[0].status, strict[0].cause, f"Rule: {strict[0].reason}.")
    hold_at, reject_at = article.abuse_thresholds()
    score = abusive.probability
    if score is not None and reject_at is not None and score >= reject_at:
        return Verdict(Status.REJECTED, Cause.ABUSE, abuse_reason(abusive, reject_at))
    if strict:  # a blocked domain
        return Verdict(strict[0].status, strict[0].cause, f"Rule: {strict[0].reason}.")
    if spam_probability is None:
        return Verdict(Status.HELD, Cause.NO_MODEL, "No spam model is installed.")
    status, reason = policy_band(article=article, spam_probability=spam_probability)
    if status != Status.SPAM and score is not None and score >= hold_at:
        return Verdict(Status.HELD, Cause.ABUSE, abuse_reason(abusive, hold_at))
    if status == Status.SPAM or article.premoderated():
        cause = Cause.MODEL if status == Status.SPAM else Cause.PREMODERATED
        return Verdict(status, cause, reason)
    if hits:
        fired = "; ".join(hit.reason for hit in hits)
        return Verdict(Status.HELD, hits[0].cause, f"Rule: {fired}.")
    # An author's history skips the new-author rule only, never the model's band: it rests on
    # an email anyone may type.
    if standing.new and settings.REPLYGUARD_PREMODERATE_NEW_AUTHORS:
        why = "New author: first comments wait for a moderator."
        return Verdict(Status.HELD, Cause.NEW_AUTHOR, why)
    return Verdict(status, Cause.MODEL, reason)


def draft_reads_abusive(*, article: Article, body: str) -> bool:
    """Whether a reader's draft would be held for abuse on this article: the widget then asks
    them, once, whether they want to rephrase. False without an abuse model. The web process
    answering it loads the abuse model at its first draft (abuse.active_model)."""
    model = abuse.active_model()
    if model is None or not body.strip():
        return False
    hold_at, _ = article.abuse_thresholds()
    return model.abuse_probabilities([body])[0] >= hold_at


def abuse_reason(abusive: Abuse, threshold: float) -> str:
    said = f": {', '.join(repr(word) for word in abusive.words[:5])}" if abusive.words else ""
    score, at = percent(abusive.probability), percent(threshold, most=100)
    return f"Abuse probability {score} ≥ {at}{said}."


def policy_band(*, article: Article, spam_probability: float) -> tuple[str, str]:
    """The band of the article's policy this spam probability falls in, as the status it asks
    for, and why: a band, not yet a decision (comment_verdict weighs the rules first)."""
    publish_below, spam_above = article.thresholds()
    if article.in_storm():
        return Status.HELD, "Storm mode: the article is pre-moderated while comments pour in."
    if article.premoderated():
        return Status.HELD, "The article is pre-moderated: every comment waits for a moderator."
    # In the words the desk shows scores in (wording.percent), so a reason reads like its column.
    # A threshold is a setting, not a score: 1.0 reads 100%, not the scores' cap of 99%.
    low, high = percent(publish_below, most=100), percent(spam_above, most=100)
    score = percent(spam_probability)
    if spam_probability >= spam_above:
        return Status.SPAM, f"Spam probability {score} ≥ {high}."
    if spam_probability < publish_below:
        return Status.PUBLISHED, f"Spam probability {score} < {low}."
    return Status.HELD, f"Spam probability {score} is between {low} and {high}."


def campaign_verdict(grouped, verdict: Verdict) -> Verdict:
    """What a moderator decided about the campaign a comment joins (grouping.Grouped) wins
    over the model: binned, the comment is spam; held, it waits for a moderator. A banned word
    still rejects. A comment that only matches a binned campaign (its author has published
    comments outside any) is held, not binned: a grouping alone never bins such a reader."""
    if grouped is None or verdict.status == Status.REJECTED:
        return verdict
    campaign = grouped.campaign
    if campaign.state == Campaign.State.BINNED and grouped.member:
        return Verdict(Status.SPAM, Cause.CAMPAIGN, f"Joins {campaign}, binned by a moderator.")
    if campaign.state == Campaign.State.BINNED and verdict.status != Status.SPAM:
        return Verdict(
            Status.HELD,
            Cause.CAMPAIGN,
            f"Matches {campaign}, binned by a moderator, but its author has published "
            "comments outside any campaign: a moderator decides.",
        )
    if campaign.state == Campaign.State.HELD and verdict.status == Status.PUBLISHED:
        joins = "Joins" if grouped.member else "Matches"
        return Verdict(Status.HELD, Cause.CAMPAIGN, f"{joins} {campaign}, held by a moderator.")
    return verdict


def with_floor(verdict: Verdict, floor: Verdict | None) -> Verdict:
    """A floor (flood control's at POST time, a copy of a recent text) holds what the chain
    would publish, and shields nothing from a stricter verdict (spam, rejected)."""
    if floor is None or verdict.status in (Status.SPAM, Status.REJECTED, Status.HELD):
        return verdict
    return Verdict(floor.status, floor.cause, f"{floor.reason} {verdict.reason}")

"""Rules that run before the model, the author's standing, flood control, duplicates and the bot
checks: each rule and policy of the moderator's desk, one by one."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.utils import timezone

from moderation import botcheck
from moderation.models import Cause, Comment, WordRule
from moderation.policy import comment_verdict
from moderation.rules import AuthorStanding, RuleHit, authors_standing, rule_hits
from moderation.services import comment_create
from moderation.tasks import pending_comments_score_task
from tests.factories import ArticleFactory, CommentFactory

pytestmark = pytest.mark.django_db

NOBODY = AuthorStanding(published=0, rejected=0)
READER = "Both governments deserve credit for keeping the talks going."


def causes(hits: list[RuleHit]) -> list[str]:
    return [hit.cause for hit in hits]


# --- Word rules and the link limit -------------------------------------------------------------


def test_words_match_whole_words_in_any_case_only():
    WordRule.objects.create(phrase="cialis", action=WordRule.Action.REJECT)

    assert causes(rule_hits(body="Ask a specialist about it.")) == []
    assert causes(rule_hits(body="Cheap CIALIS, today!")) == [Cause.BANNED_WORD]
    assert causes(rule_hits(body="cialis_online")) == []  # part of a longer word


def test_a_phrase_matches_across_any_spacing_but_not_split_words():
    WordRule.objects.create(phrase="free  gift card", action=WordRule.Action.HOLD)

    assert causes(rule_hits(body="Get a FREE gift\n card now")) == [Cause.SUSPECT_WORD]
    assert causes(rule_hits(body="free gift cards")) == []


def test_banned_words_come_first_and_disabled_rules_never_fire():
    WordRule.objects.create(phrase="casino", action=WordRule.Action.HOLD)
    WordRule.objects.create(phrase="viagra", action=WordRule.Action.REJECT)
    WordRule.objects.create(phrase="lottery", action=WordRule.Action.REJECT, enabled=False)

    hits = rule_hits(body="casino and viagra and lottery")

    assert causes(hits) == [Cause.BANNED_WORD, Cause.SUSPECT_WORD]
    assert [hit.reason for hit in hits] == ["banned 'viagra'", "suspect 'casino'"]


@pytest.mark.parametrize(
    "limit, body, held",
    [
        (2, "See https://example.org/a for the transcript.", False),
        (2, "See https://example.org/a and www.example.net/b", True),
        (3, "See https://example.org/a and www.example.net/b", False),
        (0, "http://a.com http://b.com http://c.com", False),  # 0: no limit
        (2, "Write to jane.doe@gmail.com, see https://example.org/a", False),  # email: no link
    ],
)
def test_the_link_limit_holds_at_the_configured_count(settings, limit, body, held):
    settings.REPLYGUARD_HOLD_AT_LINKS = limit

    assert (Cause.LINKS in causes(rule_hits(body=body))) is held


# --- The verdict: rules, author standing and the model's bands ---------------------------------


def verdict(probability, hits=(), standing=NOBODY, **article_fields) -> tuple:
    article = ArticleFactory.build(**article_fields)
    found = comment_verdict(
        article=article, spam_probability=probability, hits=list(hits), standing=standing
    )
    return found.status, found.cause, found.reason


BANNED = RuleHit(Cause.BANNED_WORD, Comment.Status.REJECTED, "banned 'viagra'")
SUSPECT = RuleHit(Cause.SUSPECT_WORD, Comment.Status.HELD, "suspect 'casino'")
TRUSTED = AuthorStanding(published=3, rejected=0)


def test_a_banned_word_rejects_whatever_the_model_says():
    assert verdict(0.01, [BANNED])[:2] == ("rejected", Cause.BANNED_WORD)
    assert verdict(None, [BANNED])[:2] == ("rejected", Cause.BANNED_WORD)


def test_a_suspect_word_holds_a_comment_the_model_would_publish():
    status, cause, reason = verdict(0.01, [SUSPECT])

    assert (status, cause) == ("held", Cause.SUSPECT_WORD)
    assert "suspect 'casino'" in reason


def test_the_models_spam_band_is_stronger_than_a_hold_rule():
    assert verdict(0.999, [SUSPECT])[:2] == ("spam", Cause.MODEL)


def test_with_no_rule_fired_the_models_bands_decide(settings):
    settings.REPLYGUARD_PUBLISH_BELOW, settings.REPLYGUARD_SPAM_ABOVE = 0.7, 0.99

    assert [verdict(p)[:2] for p in (0.1, 0.8, 0.995)] == [
        ("published", Cause.MODEL),
        ("held", Cause.MODEL),
        ("spam", Cause.MODEL),
    ]


def test_an_authors_history_never_skips_the_models_hold_band():
    # The history rests on an email anyone may type: a regular's address skips nothing.
    assert verdict(0.8, standing=TRUSTED)[:2] == ("held", Cause.MODEL)
    assert verdict(0.995, standing=TRUSTED)[:2] == ("spam", Cause.MODEL)


def test_new_authors_can_be_premoderated(settings):
    settings.REPLYGUARD_PREMODERATE_NEW_AUTHORS = True

    assert verdict(0.01)[:2] == ("held", Cause.NEW_AUTHOR)
    assert verdict(0.01, standing=AuthorStanding(published=1, rejected=0))[0] == "published"
    settings.REPLYGUARD_PREMODERATE_NEW_AUTHORS = False
    assert verdict(0.01)[0] == "published"


def test_a_premoderated_article_holds_everything_but_banned_words():
    premoderated = {"moderation_mode": "premoderated"}

    assert verdict(0.01, standing=TRUSTED, **premoderated)[:2] == ("held", Cause.PREMODERATED)
    assert verdict(0.999, **premoderated)[:2] == ("held", Cause.PREMODERATED)
    assert verdict(0.01, [BANNED], **premoderated)[0] == "rejected"


def test_no_model_holds_for_a_human():
    assert verdict(None)[:2] == ("held", Cause.NO_MODEL)


def test_author_standing_counts_this_emails_other_comments():
    email = "regular@example.org"
    CommentFactory.create_batch(2, author_email=email, status="published")
    CommentFactory(author_email=email, status="spam")
    CommentFactory(author_email=email, status="held")
    this_one = CommentFactory(author_email=email, status="pending")
    CommentFactory(author_email="someone.else@example.org", status="published")

    standings = authors_standing(emails={email}, excluding={this_one.pk})
    assert standings == {email: AuthorStanding(2, 1)}


def test_scoring_runs_the_rules_and_records_what_fired(settings, spam_model):
    settings.REPLYGUARD_HOLD_AT_LINKS = 2
    WordRule.objects.create(phrase="referendum", action=WordRule.Action.HOLD)
    article = ArticleFactory()
    comment = comment_create(
        article=article,
        author_name="Mina",
        author_email="mina@example.org",
        body="The referendum, in the words of https://example.org/a and https://example.net/b",
    )

    pending_comments_score_task()

    comment.refresh_from_db()
    assert comment.status == "held" and comment.cause == Cause.SUSPECT_WORD
    assert comment.rule_hits == ["suspect 'referendum'", "2 links to untrusted sites (held at 2)"]
    assert comment.spam_score is not None  # the model still scored it, for the moderator
    assert "suspect 'referendum'" in comment.decisions.get().reason


def test_a_regulars_email_does_not_publish_a_borderline_comment(settings, spam_model):
    settings.REPLYGUARD_PUBLISH_BELOW = 0.0  # every score is in the hold band
    article = ArticleFactory()
    CommentFactory.create_batch(5, author_email="regular@example.org", status="published")

    typed = comment_create(
        article=article, author_name="R", author_email="Regular@Example.org", body=READER
    )
    stranger = comment_create(
        article=article, author_name="S", author_email="new@example.org", body=f"{READER} Yes."
    )
    for comment in (typed, stranger):
        pending_comments_score_task()
        comment.refresh_from_db()

    assert (typed.status, typed.cause) == ("held", Cause.MODEL)
    assert (stranger.status, stranger.cause) == ("held", Cause.MODEL)


# --- Flood control and duplicates, through the API ---------------------------------------------


def post(client, article, ip="198.51.100.1", **fields):
    payload = {"author_name": "Mina", "author_email": "mina@example.org", "body": READER}
    return client.post(
        f"/api/articles/{article.slug}/comments/",
        payload | fields,
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_flood_control_refuses_the_ip_and_holds_the_email(client, article, settings, spam_model):
    settings.REPLYGUARD_FLOOD_SECONDS = 15

    first = post(client, article, body="First thought.")
    same_ip = post(client, article, author_email="other@example.org", body="Second.")
    same_email = post(client, article, ip="198.51.100.2", body="Third.")
    someone_else = post(
        client, article, ip="198.51.100.3", author_email="else@example.org", body="Fourth."
    )

    assert [r.status_code for r in (first, same_ip, same_email, someone_else)] == [
        202,
        429,
        202,
        202,
    ]
    assert 0 < int(same_ip["Retry-After"]) <= 15
    assert "wait" in same_ip.json()["detail"]
    pending_comments_score_task()
    held = Comment.objects.get(body="Third.")
    assert (held.status, held.cause) == ("held", Cause.FLOOD)
    assert Comment.objects.count() == 3  # nothing stored for a refused post


def test_flood_control_lets_the_author_post_again_after_the_window(client, article, settings):
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    post(client, article, body="First thought.")
    Comment.objects.update(created_at=timezone.now() - timedelta(seconds=16))

    assert post(client, article, body="Second thought.").status_code == 202


def test_a_duplicate_from_the_same_ip_is_409_and_from_another_is_held_whatever_the_email(
    client, article, settings, spam_model
):
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    other_article = ArticleFactory()

    first = post(client, article)
    again = post(client, article, body=f"  {READER}\n")
    same_ip = post(client, other_article, author_email="other@example.org")
    right_email = post(client, other_article, ip="198.51.100.9")
    guessed_wrong = post(client, other_article, ip="198.51.100.10", author_email="g@example.org")
    pending_comments_score_task()

    assert [r.status_code for r in (first, again, same_ip, right_email, guessed_wrong)] == [
        202, 409, 409, 202, 202
    ]  # fmt: skip
    assert again.json() == {"body": ["You have already posted this comment."]}
    # Whether the email was the author's or a guess, the copy is treated the same: held. (The
    # right one was binned and a wrong one published: an oracle for the author's email.)
    copies = Comment.objects.filter(article=other_article).order_by("pk")
    assert [(c.status, c.cause) for c in copies] == [("held", Cause.DUPLICATE)] * 2
    assert Comment.objects.get(article=article).status == "published"


@pytest.mark.parametrize(
    "variant",
    [
        READER.upper(),
        READER.replace(" ", "  "),
        READER.replace(" ", "\u00a0"),
        READER.replace("e", "e\u200b"),
        READER.replace("a", "\uff41"),  # full-width
    ],
    ids=["case", "double-spaces", "nbsp", "zero-width", "full-width"],
)
def test_a_duplicate_varied_by_case_spacing_or_invisible_characters_is_still_one(
    client, article, settings, variant, spam_model
):
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    post(client, article)

    again = post(client, article, body=variant)
    from_another_ip = post(client, ArticleFactory(), body=variant, ip="198.51.100.9")

    assert again.status_code == 409
    assert from_another_ip.status_code == 202
    pending_comments_score_task()
    assert Comment.objects.get(cause=Cause.DUPLICATE).body == variant


def test_a_duplicate_after_the_window_is_a_new_comment(client, article, settings):
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    post(client, article)
    Comment.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert post(client, article).status_code == 202


def test_comments_without_a_fingerprint_are_no_copies_of_one_another(article, settings, spam_model):
    # Rows written past comment_create (a bulk load, an import) have no fingerprint: "" was
    # every such comment's copy, and each batch read all of them in the window.
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    texts = [f"Reader {n} has a thought about the summit and the region." for n in range(3)]
    for text in texts:
        CommentFactory(article=article, body=text, status="pending", body_fingerprint="")

    pending_comments_score_task()

    assert not Comment.objects.filter(cause=Cause.DUPLICATE).exists()


def test_emails_are_compared_in_any_case(client, article, settings):
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    post(client, article, author_email="Mina@Example.org", body="First thought.")

    response = post(client, article, ip="198.51.100.2", author_email="MINA@example.ORG")

    assert response.status_code == 202
    assert Comment.objects.get(cause=Cause.FLOOD).author_email == "mina@example.org"


def test_no_answer_tells_whether_a_guessed_email_wrote_a_public_comment(client, article, settings):
    """Re-posting a public comment's text with guessed addresses, each from a fresh address of
    the attacker's, once within the flood window and once after it: the right guess and the
    wrong ones get the same answer."""
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    settings.REPLYGUARD_DUPLICATE_WINDOW_HOURS = 24
    post(client, article, author_email="victim@example.org", body="A public comment.")
    guesses = ["victim@example.org", "wrong@example.org"]

    def answers(first_ip: int) -> list:
        responses = [
            post(client, article, ip=f"203.0.113.{first_ip + i}", author_email=email,
                 body="A public comment.")
            for i, email in enumerate(guesses)
        ]  # fmt: skip
        return [(r.status_code, sorted(r.json())) for r in responses]

    within_flood_window = answers(10)
    Comment.objects.update(created_at=timezone.now() - timedelta(seconds=16))
    after_it = answers(20)

    assert within_flood_window[0] == within_flood_window[1]
    assert after_it[0] == after_it[1]


# --- Bot checks: honeypot and minimum time -----------------------------------------------------


def form_token(client, article) -> str:
    response = client.get(f"/api/articles/{article.slug}/comment-form/")
    assert response.status_code == 200
    assert response.json()["honeypot_field"] == "homepage"
    return response.json()["form_token"]


def test_the_comment_form_tells_the_widget_the_newsrooms_length_limit(client, article, settings):
    settings.REPLYGUARD_BODY_MAX_LENGTH = 1200

    form = client.get(f"/api/articles/{article.slug}/comment-form/").json()

    assert form["body_max_length"] == 1200
    refused = post(client, article, body="x" * 1201)
    assert refused.status_code == 400 and "1200" in refused.json()["body"][0]


def test_a_filled_honeypot_is_answered_as_pending_and_filed_as_spam(client, article, no_model):
    response = post(client, article, homepage="http://spam.example/")

    assert response.status_code == 202 and response.json()["status"] == "pending"
    comment = Comment.objects.get()
    assert (comment.status, comment.cause) == ("spam", Cause.BOT_CHECK)
    decision = comment.decisions.get()
    assert decision.decided_by is None and "honeypot" in decision.reason


def test_a_form_sent_too_fast_is_filed_as_spam(client, article, settings, no_model):
    settings.REPLYGUARD_MIN_SUBMIT_SECONDS = 3

    response = post(client, article, form_token=form_token(client, article))

    assert response.status_code == 202 and response.json()["status"] == "pending"
    comment = Comment.objects.get()
    assert (comment.status, comment.cause) == ("spam", Cause.BOT_CHECK)
    assert "after the form loaded" in comment.decisions.get().reason


def test_a_form_sent_after_the_minimum_time_goes_to_the_spam_check(
    client, article, settings, no_model, django_capture_on_commit_callbacks
):
    settings.REPLYGUARD_MIN_SUBMIT_SECONDS = 3
    token = form_token(client, article)
    assert signing.loads(token, salt=botcheck.SALT)["article"] == article.slug

    later = botcheck.time.time() + 4
    with (
        mock.patch("moderation.botcheck.time.time", return_value=later),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post(client, article, form_token=token)

    assert response.status_code == 202
    comment = Comment.objects.get()
    assert (comment.status, comment.cause) == ("held", Cause.NO_MODEL)  # scored, not binned


@pytest.mark.parametrize(
    "make_token, message",
    [
        (lambda article: "not-a-token", "Invalid form token"),
        (lambda article: form_token_for(article.slug) + "x", "Invalid form token"),
        (lambda article: form_token_for("another-article"), "another article"),
    ],
)
def test_a_bad_form_token_is_a_400_naming_it(client, article, make_token, message):
    response = post(client, article, form_token=make_token(article))

    assert response.status_code == 400
    assert message in response.json()["form_token"][0]
    assert not Comment.objects.exists()


def form_token_for(slug: str) -> str:
    return botcheck.form_token_issue(article_slug=slug)


def test_an_expired_form_token_asks_the_reader_to_reload(client, article, settings):
    settings.REPLYGUARD_FORM_TOKEN_MAX_AGE = 60

    token = form_token(client, article)
    with mock.patch("django.core.signing.time.time", return_value=botcheck.time.time() + 61):
        response = post(client, article, form_token=token)

    assert response.status_code == 400
    assert "too old" in response.json()["form_token"][0]


def test_a_site_can_require_the_form_token(client, article, settings):
    settings.REPLYGUARD_REQUIRE_FORM_TOKEN = True

    response = post(client, article)

    assert response.status_code == 400 and "form_token" in response.json()
    assert not Comment.objects.exists()


def test_the_form_endpoint_404s_for_an_unknown_article(client, db):
    response = client.get("/api/articles/no-such-article/comment-form/")

    assert response.status_code == 404 and "article" in response.json()


def test_a_form_token_serves_one_comment(client, article, settings):
    settings.REPLYGUARD_MIN_SUBMIT_SECONDS = 0
    token = form_token(client, article)

    first = post(client, article, form_token=token)
    second = post(client, article, form_token=token, body="Another point.", ip="198.51.100.7")
    fresh = post(client, article, form_token=form_token(client, article), body="Another point.")

    assert [first.status_code, second.status_code] == [202, 400]
    assert "reload" in second.json()["form_token"][0]
    assert fresh.status_code == 202
    assert Comment.objects.count() == 2


def test_a_form_token_refused_for_flooding_can_still_be_used(client, article, settings):
    settings.REPLYGUARD_MIN_SUBMIT_SECONDS, settings.REPLYGUARD_FLOOD_SECONDS = 0, 15
    post(client, article, body="First thought.")
    token = form_token(client, article)

    assert post(client, article, form_token=token).status_code == 429
    Comment.objects.update(created_at=timezone.now() - timedelta(seconds=16))
    assert post(client, article, form_token=token).status_code == 202


def test_flood_control_counts_an_ipv6_client_by_its_64(client, article, settings):
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    post(client, article, ip="2001:db8:1:2::1", body="First thought.")

    same_subscriber = post(client, article, ip="2001:db8:1:2:ffff::9", author_email="x@example.org")
    next_subscriber = post(client, article, ip="2001:db8:1:3::1", author_email="y@example.org")

    assert (same_subscriber.status_code, next_subscriber.status_code) == (429, 202)

"""Campaigns: which comments are grouped (and which must never be), and what a moderator's
decision on a whole campaign does, now and to the comments that join it later."""

import pytest

from harness.waves import WAVE_ROW, blog_spam, news_comments, spam_wave
from moderation.campaigns.keys import campaign_text
from moderation.models import Campaign, Comment, Decision
from moderation.scoring import pending_comments_score
from moderation.services import campaign_decide
from tests.conftest import DATASETS_DIR, EVALUATION_DIR, require
from tests.factories import ArticleFactory, CommentFactory

TEMPLATE = (
    "Great article, I learned a lot! I found the best deals on cheap flights to Seoul at "
    "http://cheap-flights-{n}.example/ and saved hundreds of dollars, check it out."
)
VARIANTS = [
    "Great article, I learned a lot! I found the best deals on cheap flights to Seoul and "
    "saved hundreds of dollars, check it out.",
    "great article,  I learned a LOT! i found the best deals on cheap flights to Seoul and saved "
    "hundreds of dollars - check it out!!",
    "Great post, I learned a lot! I found the best offers on cheap flights to Seoul and saved "
    "hundreds of dollars, check it out.",
    "Great article, I learned so much! Found the best deals on cheap flights to Seoul and saved "
    "hundreds of dollars, have a look.",
]
ARTICLE_LINE = (
    "Japanese Prime Minister Fumio Kishida and South Korean President Yoon Suk Yeol "
    "emphasized the importance of continuing improved relations."
)


def score_all() -> None:
    # One batch for all: a full batch sends a follow-up task, which tests run inline, inside
    # this batch's transaction, where the same rows are still pending.
    pending_comments_score(batch_size=10_000, batch_chars=10_000_000)


def post(article, body, n, **fields):
    return CommentFactory(article=article, body=body, status="pending",
                          author_email=f"author{n}@mail{n}.example", **fields)  # fmt: skip


@pytest.fixture
def articles(db, no_model):
    return [ArticleFactory(body=f"{ARTICLE_LINE} More text {n}.") for n in range(3)]


def test_near_identical_texts_from_different_authors_are_one_campaign(articles):
    comments = [post(articles[n % 3], text, n) for n, text in enumerate(VARIANTS)]

    score_all()

    campaign = Campaign.objects.get()
    assert set(campaign.comments.all()) == set(comments)
    assert campaign.grouped_by == "near-identical text"


def test_short_common_replies_from_different_readers_are_not_a_campaign(articles):
    for n, text in enumerate(["Well said.", "Well said!", "well said", "Agreed.", "Well said."]):
        post(articles[0], text, n)

    score_all()

    assert not Campaign.objects.exists()


def test_readers_quoting_the_same_sentence_of_the_article_are_not_a_campaign(articles):
    takes = ["Exactly right.", "I doubt it.", "About time!", "We will see how long it lasts.",
             "Is that so?", "Nothing new here."]  # fmt: skip
    for n, take in enumerate(takes):
        post(articles[0], f'"{ARTICLE_LINE}" {take}', n)

    score_all()

    assert not Campaign.objects.exists()


def test_the_same_website_across_authors_is_a_campaign(articles):
    texts = ["Nice one.", "Thanks for sharing this.", "Interesting, will read more later."]
    for n, text in enumerate(texts):
        post(articles[n], text, n, author_url=f"https://www.summit-deals.info/p/{n}")

    score_all()

    assert Campaign.objects.get().grouped_by == "the website summit-deals.info"
    assert Comment.objects.filter(campaign__isnull=False).count() == 3


SENDER = {"ip_address": "198.51.100.23", "user_agent": "Mozilla/5.0 (X11; Linux) Bot/1.2"}


def test_one_sender_behind_several_names_across_articles_is_a_campaign(articles, settings):
    settings.REPLYGUARD_CAMPAIGN_BY_SENDER = True  # off by default
    texts = ["Nice one.", "Thanks for sharing this.", "Interesting, will read more later."]
    for n, text in enumerate(texts):
        CommentFactory(article=articles[n], body=text, status="pending",
                       author_email=f"name{n}@sender-mail.example", **SENDER)  # fmt: skip

    score_all()

    assert Campaign.objects.get().grouped_by.startswith("one sender")
    assert Comment.objects.filter(campaign__isnull=False).count() == 3


def test_one_office_on_one_article_is_not_a_campaign(articles, settings):
    settings.REPLYGUARD_CAMPAIGN_BY_SENDER = True
    texts = ["Nice one.", "Thanks for sharing this.", "Interesting, will read more later."]
    for n, text in enumerate(texts):
        CommentFactory(article=articles[0], body=text, status="pending",
                       author_email=f"name{n}@sender-mail.example", **SENDER)  # fmt: skip

    score_all()

    assert not Campaign.objects.exists()


def test_readers_citing_the_same_source_in_their_text_are_not_a_campaign(articles):
    ruling = "https://pca-cpa.org/en/cases/7/"
    texts = [f"The court's ruling is here {ruling} and it is clear.",
             f"Read the ruling itself, {ruling}, before judging.",
             f"Full text of the arbitration: {ruling} worth an hour."]  # fmt: skip
    for n, text in enumerate(texts):
        post(articles[0], text, n)

    score_all()

    assert not Campaign.objects.exists()


def test_readers_citing_the_same_trusted_source_are_not_a_campaign(articles):
    for n in range(4):
        post(articles[0], f"Reuters has the full statement: https://www.reuters.com/world/{n}", n)

    score_all()

    assert not Campaign.objects.exists()


def test_one_author_repeating_itself_founds_no_campaign(articles):
    for n in range(3):
        CommentFactory(article=articles[n], body=VARIANTS[0], status="pending",
                       author_email="same@example.org")  # fmt: skip

    score_all()

    assert not Campaign.objects.exists()


def test_binning_a_campaign_bins_its_comments_and_files_new_ones_as_spam(articles, admin_user):
    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, n)
    score_all()
    campaign = Campaign.objects.get()

    decided = campaign_decide(campaign=campaign, state="binned", decided_by=admin_user)
    late = post(articles[2], VARIANTS[3], 9)
    score_all()

    assert (decided.changed, decided.left) == (3, 0)
    assert Decision.objects.filter(decided_by=admin_user, to_status="spam").count() == 3
    late.refresh_from_db()
    assert (late.status, late.cause, late.campaign_id) == ("spam", "campaign", campaign.pk)
    assert "binned by a moderator" in late.decisions.get().reason


def test_a_campaign_published_as_legitimate_holds_nothing_back(articles, admin_user, spam_model):
    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, n)
    score_all()
    campaign_decide(campaign=Campaign.objects.get(), state="published", decided_by=admin_user)

    late = post(articles[0], VARIANTS[3], 9)
    score_all()

    late.refresh_from_db()
    assert late.campaign_id == Campaign.objects.get().pk and late.cause != "campaign"
    assert Comment.objects.filter(campaign__isnull=False, status="published").count() >= 3


def test_a_whole_campaign_is_binned_from_the_admin_with_an_audit_record_each(
    articles, admin_client
):
    for n, text in enumerate(VARIANTS):
        post(articles[n % 3], text, n)
    score_all()
    campaign = Campaign.objects.get()

    listed = admin_client.get("/admin/moderation/campaign/").content.decode()
    page = admin_client.get(f"/admin/moderation/campaign/{campaign.pk}/change/").content.decode()
    admin_client.post("/admin/moderation/campaign/", {"action": "campaign_binned",
                      "_selected_action": [campaign.pk], "confirmed": "yes"})  # fmt: skip

    assert "near-identical text" in listed and "cheap flights to Seoul" in page
    assert set(campaign.comments.values_list("status", flat=True)) == {"spam"}
    assert Decision.objects.filter(to_status="spam", decided_by__username="admin").count() == 4
    campaign.refresh_from_db()
    assert campaign.state == "binned" and campaign.decided_by.username == "admin"


def test_real_news_comments_form_no_campaign(articles):
    news = EVALUATION_DIR / "news-comments-dev"
    require(news.is_dir(), f"no evaluation-only news comments at {news}")
    for n, text in enumerate(news_comments(EVALUATION_DIR)):
        post(articles[n % 3], text, n)

    score_all()

    assert not Campaign.objects.exists()


def test_a_wave_from_a_real_spam_row_is_one_campaign(articles):
    base = blog_spam(DATASETS_DIR)[WAVE_ROW]["comment"]
    for spam in spam_wave(base, size=60, authors=30, articles=3):
        CommentFactory(article=articles[spam.article], body=spam.body, status="pending",
                       author_name=spam.author_name, author_email=spam.author_email)  # fmt: skip

    score_all()

    assert Campaign.objects.count() == 1
    assert Comment.objects.filter(campaign__isnull=False).count() == 60


def test_readers_quoting_an_article_sentence_with_numbers_are_not_a_campaign(db, no_model):
    line = "The 1965 treaty normalized relations between the two countries after 35 years."
    article = ArticleFactory(body=f"{ARTICLE_LINE} {line} More.")
    for n, take in enumerate(["Exactly right.", "I doubt it.", "About time!", "Is that so?"]):
        post(article, f"{line} {take}", n)

    score_all()

    assert not Campaign.objects.exists()


def test_publishing_a_campaign_leaves_what_was_rejected_rejected(articles, admin_user):
    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, n)
    score_all()
    campaign = Campaign.objects.get()
    rejected = campaign.comments.first()
    Comment.objects.filter(pk=rejected.pk).update(status="rejected")

    campaign_decide(campaign=campaign, state="published", decided_by=admin_user)

    rejected.refresh_from_db()
    assert rejected.status == "rejected"
    assert campaign.comments.filter(status="published").count() == 2


def test_a_very_long_website_host_still_names_the_campaign(articles):
    host = "a" * 63 + "." + "b" * 63 + "." + "c" * 60 + ".info"
    for n in range(3):
        post(articles[n], f"Comment number {n} here.", n, author_url=f"http://{host}/")

    score_all()

    assert len(Campaign.objects.get().grouped_by) <= 200


def test_erasing_an_author_forgets_their_campaign_keys(articles):
    from moderation.models import CampaignKey, TextSignature
    from moderation.privacy import author_erase

    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, n)
    score_all()
    gone = Comment.objects.first()

    author_erase(email=gone.author_email)

    assert not CampaignKey.objects.filter(comment=gone).exists()
    assert not TextSignature.objects.filter(comment=gone).exists()


def test_campaign_text_drops_links_digits_and_the_articles_own_sentences():
    text = campaign_text(f"Call 555-1234 now! {ARTICLE_LINE} See https://x.example/a", ARTICLE_LINE)

    assert text == "call 000 0000 now see"

"""Campaigns against an attacker: what outsiders send may group their own comments, never bin
a reader who has shown otherwise, teach the link domains, or outrank a moderator's decision."""

import random

import pytest

from harness.waves import blog_spam, form_spam_wave, news_comments
from moderation.models import Campaign, CampaignKey, Comment, LinkDomain
from moderation.scoring import pending_comments_score
from moderation.services import (
    campaign_decide,
    campaign_members_left,
    comment_create,
    comment_decide,
    comments_decide,
)
from tests.conftest import DATASETS_DIR, EVALUATION_DIR, require
from tests.factories import ArticleFactory, CommentFactory
from tests.test_campaigns import VARIANTS

ALICE = (
    "The council should publish the full audit before the vote, not a summary written by "
    "the same office that ran the programme."
)
SPAM_TEXTS = [
    "Amazing read, bookmarked for later and shared with my friends.",
    "Thanks for this, very informative and well written piece.",
    "Really enjoyed this article, keep up the excellent work here.",
    "Such a helpful post, I will be back to read more of these.",
    "Great insights, this is exactly what I was looking for today.",
    "Wonderful writing, learned something new from this one again.",
]


def score_all() -> None:
    pending_comments_score(batch_size=10_000, batch_chars=10_000_000)


def post(article, body, who, **fields):
    return CommentFactory(article=article, body=body, status="pending",
                          author_email=f"{who}@mail-{who}.example", author_name=who,
                          **fields)  # fmt: skip


def fresh(comment) -> Comment:
    comment.refresh_from_db()
    return comment


@pytest.fixture
def articles(db, no_model):
    return [ArticleFactory(body=f"Council audit story {n}.") for n in range(3)]


def bin_every_campaign(moderator) -> int:
    return sum(
        campaign_decide(campaign=c, state="binned", decided_by=moderator).changed
        for c in Campaign.objects.all()
    )


def test_copies_of_readers_and_their_pasted_websites_bin_no_reader(articles, admin_user):
    """The attack as it was run: Alice's text copied with a spam link, Bob's website pasted
    into spam, both campaigns binned; then both readers post again, and a reader cites Bob."""
    alice = post(articles[0], ALICE, "alice", author_url="https://alice-writes.example/")
    bob = post(articles[0], "Our allotment society tried this in 2019.", "bob",
               author_url="https://bobs-garden.example/")  # fmt: skip
    score_all()  # no model: both held
    comment_decide(comment=fresh(alice), status="published", decided_by=admin_user)
    comment_decide(comment=fresh(bob), status="published")  # as the model would
    for n in range(5):
        post(articles[1], f"{ALICE} Cheap pills at http://pills-{n}.example/", f"copy{n}")
        post(articles[2], SPAM_TEXTS[n], f"paste{n}", author_url=f"https://bobs-garden.example/{n}")
    score_all()

    binned = bin_every_campaign(admin_user)
    alice_again = post(articles[2], "I asked the auditor; no reply yet.", "alice",
                       author_url="https://alice-writes.example/")  # fmt: skip
    bob_again = post(articles[1], "We had the same problem with water rights.", "bob",
                     author_url="https://bobs-garden.example/")  # fmt: skip
    citing = post(articles[1], "Bob's notes: https://bobs-garden.example/water", "carol")
    score_all()

    assert binned == 10  # the attacker's comments, and nothing else
    assert (fresh(alice).status, alice.campaign_id) == ("published", None)
    assert (fresh(bob).status, bob.campaign_id) == ("published", None)
    assert not LinkDomain.objects.filter(reputation="blocked").exists()
    assert fresh(alice_again).status == "held" and alice_again.cause != "campaign"
    assert fresh(bob_again).status == "held" and bob_again.campaign_id is None  # not binned
    assert "a moderator decides" in bob_again.decisions.get().reason
    assert fresh(citing).status == "held" and citing.cause != "blocked_domain"


def test_a_whole_campaign_bin_leaves_a_persons_decision_and_readers_with_history(
    articles, admin_user
):
    members = [post(articles[n % 3], text, f"m{n}") for n, text in enumerate(VARIANTS)]
    score_all()
    comment_decide(comment=fresh(members[0]), status="published", decided_by=admin_user)
    CommentFactory(article=articles[2], author_email=members[1].author_email, status="published")
    campaign = Campaign.objects.get()

    left = campaign_members_left(campaign, "spam")
    decided = campaign_decide(campaign=campaign, state="binned", decided_by=admin_user)

    assert [(c.pk, why.split(";")[0]) for c, why in left] == [
        (members[0].pk, "a moderator decided it"),
        (members[1].pk, "its author has published comments outside any campaign"),
    ]
    assert (decided.changed, decided.left) == (2, 2)
    assert [fresh(m).status for m in members] == ["published", "held", "spam", "spam"]


def test_the_moderator_sees_every_member_before_a_bin_and_what_it_leaves(
    articles, admin_client, admin_user
):
    members = [post(articles[n % 3], text, f"m{n}") for n, text in enumerate(VARIANTS)]
    score_all()
    comment_decide(comment=fresh(members[0]), status="published", decided_by=admin_user)
    campaign = Campaign.objects.get()
    action = {"action": "campaign_binned", "_selected_action": [campaign.pk]}

    page = admin_client.post("/admin/moderation/campaign/", action).content.decode()
    untouched = sorted(Comment.objects.values_list("status", flat=True))
    admin_client.post("/admin/moderation/campaign/", action | {"confirmed": "yes"})

    assert all(f"/admin/moderation/comment/{m.pk}/change/" in page for m in members)
    assert "left for you</strong>: a moderator decided it" in page
    assert untouched == ["held", "held", "held", "published"]  # nothing done before yes
    assert [fresh(m).status for m in members] == ["published", "spam", "spam", "spam"]


def test_a_member_taken_out_of_its_campaign_no_longer_draws_comments_in(articles, admin_client):
    site = "https://summit-deals.info/"
    members = [post(articles[n], SPAM_TEXTS[n], f"m{n}", author_url=site) for n in range(3)]
    taken = post(articles[0], ALICE, "alice", author_url=site)
    score_all()
    campaign = Campaign.objects.get()
    assert fresh(taken).campaign_id == campaign.pk

    listed = admin_client.get(f"/admin/moderation/comment/?campaign__id__exact={campaign.pk}")
    take_out = {"action": "remove_from_campaign", "_selected_action": [taken.pk]}
    admin_client.post("/admin/moderation/comment/", take_out)
    later = post(articles[1], ALICE.replace("council", "board"), "later")
    score_all()

    assert listed.status_code == 200
    assert all(m.body[:40] in listed.content.decode() for m in [*members, taken])
    assert fresh(taken).campaign_id is None
    assert not CampaignKey.objects.filter(comment=taken).exists()
    assert fresh(later).campaign_id is None


def test_domains_learn_from_single_decisions_by_a_person_only(articles, admin_user, settings):
    settings.REPLYGUARD_DOMAIN_BLOCK_AFTER = 5
    settings.REPLYGUARD_CAMPAIGN_MIN_CHARS = 10_000  # three campaigns, by their websites only

    def spam_from(site):
        return [post(articles[n % 3], SPAM_TEXTS[n], f"{site}{n}",
                     author_url=f"https://{site}.example/") for n in range(6)]  # fmt: skip

    by_campaign, by_bulk, one_by_one = spam_from("camp"), spam_from("bulk"), spam_from("single")
    score_all()
    campaign_decide(campaign=fresh(by_campaign[0]).campaign, state="binned", decided_by=admin_user)
    comments_decide(comments=[fresh(c) for c in by_bulk], status="spam", decided_by=admin_user)
    for comment in one_by_one:
        comment_decide(comment=fresh(comment), status="spam", decided_by=admin_user)

    blocked = set(LinkDomain.objects.filter(reputation="blocked").values_list("domain", flat=True))
    assert blocked == {"single.example"}


def test_a_domain_a_published_comment_carries_is_never_blocked_by_counting(
    articles, admin_user, settings
):
    settings.REPLYGUARD_DOMAIN_BLOCK_AFTER = 5
    CommentFactory(
        article=articles[0], status="published", author_url="https://bobs-garden.example/"
    )
    pasted = [post(articles[1], SPAM_TEXTS[n], f"p{n}",
                   author_url=f"https://bobs-garden.example/{n}") for n in range(6)]  # fmt: skip
    score_all()

    for comment in pasted:
        comment_decide(comment=fresh(comment), status="spam", decided_by=admin_user)

    assert LinkDomain.objects.get(domain="bobs-garden.example").reputation == "neutral"


def test_readers_sharing_a_mail_provider_network_and_browser_are_not_grouped(articles):
    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"
    sender = {"ip_address": "198.51.100.23", "user_agent": browser}
    texts = ["Nice one.", "Thanks for sharing this.", "Interesting, will read more later.", "No."]
    for n, text in enumerate(texts):
        CommentFactory(article=articles[n % 3], body=text, status="pending",
                       author_email=f"reader{n}@gmail.com", **sender)  # fmt: skip

    score_all()

    assert not Campaign.objects.exists()


def test_a_comment_matching_a_binned_campaign_joins_it_over_an_older_open_one(articles, admin_user):
    site = "https://summit-deals.info/"
    open_members = [post(articles[n], SPAM_TEXTS[n], f"o{n}", author_url=site) for n in range(2)]
    score_all()
    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, f"b{n}")
    score_all()
    binned = Campaign.objects.exclude(pk=fresh(open_members[0]).campaign_id).get()
    campaign_decide(campaign=binned, state="binned", decided_by=admin_user)

    both = post(articles[2], VARIANTS[3], "both", author_url=site)
    score_all()

    assert (fresh(both).status, both.campaign_id) == ("spam", binned.pk)


# (blog-spam row, seed): three real form-spam texts, each varied its own way. Not the rows or
# the variation harness.waves.spam_wave makes for the other campaign tests.
WAVES = [(4, 11), (16, 12), (21, 13)]


@pytest.mark.parametrize("row, seed", WAVES)
def test_a_wave_stays_caught_after_the_moderators_bin(row, seed, spam_model, settings, admin_user):
    """150 senders post a form-spam text twice each (the second time from another address,
    within the flood window) among 300 real news comments; the moderator bins the wave's
    campaign a third of the way in. Every later copy must be filed as spam with no one acting
    again, and no reader's comment may be in a campaign."""
    require((EVALUATION_DIR / "news-comments-dev").is_dir(), "no evaluation-only news comments")
    settings.REPLYGUARD_FLOOD_SECONDS = 15
    articles = [ArticleFactory(body=f"A council audit story, part {n}.") for n in range(3)]
    wave = form_spam_wave(blog_spam(DATASETS_DIR)[row]["comment"], senders=150, posts_each=2,
                          articles=3, seed=seed)  # fmt: skip
    readers = news_comments(EVALUATION_DIR)[:300]
    rng = random.Random(seed)
    stream = [wave.pop(0) if wave and (not readers or rng.random() < 0.5) else readers.pop(0)
              for _ in range(len(wave) + len(readers))]  # fmt: skip
    posted_wave, after_bin, binned = 0, [], False
    for n, item in enumerate(stream):
        if isinstance(item, str):
            fields = {"author_name": f"Reader {n}", "author_email": f"reader{n}@example.org",
                      "body": item, "ip_address": f"203.0.{n // 250}.{n % 250 + 1}"}  # fmt: skip
            article = articles[n % 3]
        else:
            fields = {"author_name": item.author_name, "author_email": item.author_email,
                      "body": item.body, "author_url": item.author_url,
                      "ip_address": item.ip_address}  # fmt: skip
            article = articles[item.article]
            posted_wave += 1
        comment = comment_create(article=article, user_agent="Mozilla/5.0", **fields)
        if binned and not isinstance(item, str):
            after_bin.append(comment.pk)
        if n % 20 == 19:
            score_all()
        if posted_wave == 100 and not binned:  # the moderator reviews and bins the wave
            score_all()
            for campaign in Campaign.objects.all():
                if not campaign.comments.filter(author_email__startswith="reader").exists():
                    campaign_decide(campaign=campaign, state="binned", decided_by=admin_user)
            binned = True
    score_all()

    caught = Comment.objects.filter(pk__in=after_bin, status="spam").count()
    assert caught / len(after_bin) >= 0.99, f"{caught} of {len(after_bin)} filed as spam"
    assert not Comment.objects.filter(author_email__startswith="reader", campaign__isnull=False)


def test_a_whole_campaign_decision_can_be_undone_by_another(articles, admin_user):
    members = [post(articles[n % 3], text, f"m{n}") for n, text in enumerate(VARIANTS[:3])]
    score_all()
    campaign = Campaign.objects.get()

    binned = campaign_decide(campaign=campaign, state="binned", decided_by=admin_user)
    restored = campaign_decide(campaign=campaign, state="published", decided_by=admin_user)

    assert (binned.changed, restored.changed, restored.left) == (3, 3, 0)
    assert [fresh(m).status for m in members] == ["published"] * 3


def test_a_receipt_does_not_tell_whether_an_email_has_published_before(articles, admin_user):
    from moderation.receipts import author_status

    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, f"w{n}")
    score_all()
    campaign_decide(campaign=Campaign.objects.get(), state="binned", decided_by=admin_user)
    CommentFactory(article=articles[0], author_email="victim@mail-victim.example",
                   status="published")  # fmt: skip
    typed = post(articles[1], VARIANTS[3], "victim")
    unknown = post(articles[1], f"{VARIANTS[3]} ", "nobody")
    score_all()

    assert (fresh(typed).status, fresh(unknown).status) == ("held", "spam")
    assert author_status(typed) == author_status(unknown) == "awaiting_moderation"


def test_a_confirmed_bin_keeps_select_all(articles, admin_client):
    for n, text in enumerate(VARIANTS[:3]):
        post(articles[n], text, f"m{n}")
    score_all()
    campaign = Campaign.objects.get()

    everything = {"action": "campaign_binned", "_selected_action": [campaign.pk],
                  "select_across": "1"}  # fmt: skip
    page = admin_client.post("/admin/moderation/campaign/", everything)

    assert '<input type="hidden" name="select_across" value="1">' in page.content.decode()

"""Link domains: trusted sources and blocked domains in the rules, the model's input, and what
moderators' decisions teach."""

import pytest
from django.contrib.auth import get_user_model

from moderation import domains
from moderation.models import Cause, Comment, LinkDomain, WordRule
from moderation.rules import rule_hits
from moderation.services import comment_decide
from moderation.spam import features
from moderation.tasks import pending_comments_score_task
from tests.factories import CommentFactory

pytestmark = pytest.mark.django_db

Status = Comment.Status
Reputation = LinkDomain.Reputation


def causes(hits) -> list[str]:
    return [hit.cause for hit in hits]


def test_the_seed_trusts_encyclopaedias_news_agencies_and_public_bodies():
    trusted = domains.domain_lists().trusted

    for host in ("en.wikipedia.org", "www.reuters.com", "mofa.go.jp", "ons.gov.uk", "mit.edu"):
        assert domains.listed(domains.host_of(host), trusted), host
    assert not domains.listed("bit.ly", trusted)


def test_links_to_trusted_sources_do_not_count_toward_the_link_limit(settings):
    settings.REPLYGUARD_HOLD_AT_LINKS = 2
    cited = "See https://en.wikipedia.org/wiki/X and https://www.reuters.com/world/y"
    unknown = "See https://en.wikipedia.org/wiki/X and https://shop.example/y and deals-shop.com"

    assert Cause.LINKS not in causes(rule_hits(body=cited))
    assert Cause.LINKS in causes(rule_hits(body=unknown))


def test_a_link_or_website_on_a_blocked_domain_is_spam_after_banned_words():
    LinkDomain.objects.create(domain="pills.example", reputation=Reputation.BLOCKED)
    WordRule.objects.create(phrase="viagra", action=WordRule.Action.REJECT)

    in_body = rule_hits(body="Cheap at https://www.pills.example/buy")
    in_website = rule_hits(body="Nice post.", author_url="http://shop.pills.example/")
    both = rule_hits(body="viagra at https://pills.example")

    assert causes(in_body) == causes(in_website) == [Cause.BLOCKED_DOMAIN]
    assert in_body[0].status == Status.SPAM
    assert in_body[0].reason == "a link to pills.example (a blocked domain)"
    assert causes(both) == [Cause.BANNED_WORD, Cause.BLOCKED_DOMAIN]


def test_scoring_files_a_blocked_domain_as_spam_even_without_a_model(no_model):
    LinkDomain.objects.create(domain="pills.example", reputation=Reputation.BLOCKED)
    comment = CommentFactory(status=Status.PENDING, author_url="https://pills.example/")

    pending_comments_score_task()

    comment.refresh_from_db()
    assert (comment.status, comment.cause) == (Status.SPAM, Cause.BLOCKED_DOMAIN)


def test_the_newsrooms_list_and_own_domains_reach_the_model(settings):
    settings.REPLYGUARD_OWN_DOMAINS = ["ourpaper.example"]
    LinkDomain.objects.create(domain="localnews.example", reputation=Reputation.TRUSTED)
    LinkDomain.objects.filter(domain="reuters.com").update(reputation=Reputation.NEUTRAL)
    body = "See https://ourpaper.example/a, https://localnews.example/b and reuters.com/c"

    text = features.comment_text(body=body, trusted_domains=domains.domain_lists().trusted)

    assert features.form_parts(text).trusted_hosts == {"ourpaper.example", "localnews.example"}


@pytest.fixture
def moderator(db):
    return get_user_model().objects.create_user("mod", is_staff=True)


def decide(moderator, status, body="", author_url="", decided_by="moderator"):
    comment = CommentFactory(status=Status.HELD, body=body, author_url=author_url)
    comment_decide(
        comment=comment, status=status, decided_by=moderator if decided_by else None, reason="x"
    )


def test_publishes_by_moderators_make_a_domain_trusted(moderator, settings):
    settings.REPLYGUARD_DOMAIN_TRUST_AFTER = 3
    for i in range(3):
        learned = LinkDomain.objects.filter(domain="localnews.example").first()
        assert learned is None or learned.reputation == Reputation.NEUTRAL
        decide(moderator, Status.PUBLISHED, body=f"Source: https://www.localnews.example/{i}")

    learned = LinkDomain.objects.get(domain="localnews.example")
    assert (learned.reputation, learned.source, learned.published) == (
        Reputation.TRUSTED,
        LinkDomain.Source.LEARNED,
        3,
    )


def test_spam_decisions_block_a_domain_and_one_publish_keeps_it_open(moderator, settings):
    settings.REPLYGUARD_DOMAIN_BLOCK_AFTER = 2
    decide(moderator, Status.SPAM, author_url="http://seo-deals.example/")
    decide(moderator, Status.SPAM, body="best prices https://seo-deals.example/x")
    assert LinkDomain.objects.get(domain="seo-deals.example").reputation == Reputation.BLOCKED

    decide(moderator, Status.PUBLISHED, body="https://seo-deals.example/review was fine")

    row = LinkDomain.objects.get(domain="seo-deals.example")
    assert (row.reputation, row.binned, row.published) == (Reputation.NEUTRAL, 2, 1)


def test_learning_never_overrides_the_seed_or_staff_nor_learns_from_the_model(moderator, settings):
    settings.REPLYGUARD_DOMAIN_BLOCK_AFTER = 1
    LinkDomain.objects.create(domain="ourblog.example", source=LinkDomain.Source.STAFF)
    decide(moderator, Status.SPAM, body="https://en.wikipedia.org/wiki/X https://ourblog.example/")
    decide(moderator, Status.SPAM, body="https://modelspam.example/", decided_by=None)

    assert LinkDomain.objects.get(domain="wikipedia.org").reputation == Reputation.TRUSTED
    assert LinkDomain.objects.get(domain="ourblog.example").reputation == Reputation.NEUTRAL
    assert not LinkDomain.objects.filter(domain="modelspam.example").exists()


def test_an_edit_in_the_admin_is_staff_owned(client, moderator):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)

    response = client.post(
        "/admin/moderation/linkdomain/add/",
        {"domain": " WWW.Town-Paper.example ", "reputation": "trusted", "note": "our sister"},
    )

    assert response.status_code == 302
    row = LinkDomain.objects.get(domain="town-paper.example")
    assert (row.reputation, row.source) == (Reputation.TRUSTED, LinkDomain.Source.STAFF)


def test_a_domain_listed_already_typed_another_way_is_a_form_error_not_a_500(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    LinkDomain.objects.create(domain="town-paper.example", reputation=Reputation.TRUSTED)

    response = client.post(
        "/admin/moderation/linkdomain/add/",
        {"domain": "https://WWW.Town-Paper.example/about", "reputation": "blocked"},
    )

    assert response.status_code == 200  # the form again, saying why
    assert "already exists" in response.content.decode()
    assert LinkDomain.objects.get(domain__contains="town-paper").reputation == Reputation.TRUSTED


def test_only_a_published_link_to_the_domain_itself_keeps_it_from_being_blocked(
    moderator, settings
):
    settings.REPLYGUARD_DOMAIN_BLOCK_AFTER = 2
    CommentFactory(status="published", body="Good read: https://abc-deals.example/review")
    decide(moderator, Status.SPAM, author_url="http://c-deals.example/")
    decide(moderator, Status.SPAM, body="best prices https://c-deals.example/x")

    assert LinkDomain.objects.get(domain="c-deals.example").reputation == Reputation.BLOCKED

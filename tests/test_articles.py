"""Articles: the demo loader and the public read endpoints."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article
from articles.services import DEMO_PAGE, article_page_parse
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_the_demo_page_parses_into_an_article_without_the_page_chrome():
    page = article_page_parse(DEMO_PAGE.read_text(encoding="utf-8"))

    assert page.section == "World"
    assert page.title.startswith("Japan’s Kishida and South Korea’s Yoon")
    assert page.byline == "Hyonhee Shin and Hyunsu Yim"
    assert page.dateline == "SEOUL"
    assert page.body.startswith("SEOUL – Japanese Prime Minister")
    assert page.body.endswith("depending on who takes office next.")
    for chrome in ("Related Articles", "Leave a Reply", "Adblock", "Back to top"):
        assert chrome not in page.body


def test_load_demo_is_idempotent_and_keeps_the_publication_time():
    call_command("load_demo")
    first = Article.objects.get()
    Article.objects.update(body="edited")

    call_command("load_demo")

    again = Article.objects.get()
    assert again.pk == first.pk
    assert again.published_at == first.published_at
    assert again.body.startswith("SEOUL –")


def test_the_demo_article_carries_its_own_date_not_the_day_it_was_loaded(client):
    # Its story is of Friday 6 September 2024 ("met on Friday in Seoul", Kishida's last visit).
    call_command("load_demo")

    article = Article.objects.get()
    page = client.get("/").content.decode()
    assert article.published_at.date() == date(2024, 9, 6)
    assert 'datetime="2024-09-06' in page and "September 6, 2024" in page


def test_the_demo_article_takes_comments_automatically():
    call_command("load_demo")

    article = Article.objects.get()
    assert article.comments_open
    assert article.moderation_mode == Article.ModerationMode.AUTOMATIC


def test_an_article_refuses_a_publish_threshold_above_its_spam_threshold():
    from django.core.exceptions import ValidationError

    from tests.factories import ArticleFactory

    article = ArticleFactory.build(publish_below=0.9, spam_above=0.5)

    with pytest.raises(ValidationError) as error:
        article.full_clean()
    assert "publish_below" in error.value.message_dict


def test_comments_close_by_themselves_days_after_publication(settings, client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import ArticleFactory

    settings.REPLYGUARD_CLOSE_COMMENTS_AFTER_DAYS = 7
    week_old = ArticleFactory(published_at=timezone.now() - timedelta(days=8))
    fresh = ArticleFactory(published_at=timezone.now() - timedelta(days=6))
    kept_open = ArticleFactory(
        published_at=timezone.now() - timedelta(days=8), close_comments_after_days=30
    )
    comment = {"author_name": "Mina", "author_email": "m@example.org"}

    statuses = {
        article.slug: client.post(
            f"/api/articles/{article.slug}/comments/",
            comment | {"body": f"Late thought on {article.title}."},
            content_type="application/json",
        ).status_code
        for article in (week_old, fresh, kept_open)
    }

    assert statuses == {week_old.slug: 403, fresh.slug: 202, kept_open.slug: 202}
    shown = client.get(f"/api/articles/{week_old.slug}/").json()
    assert shown["comments_open"] is False
    assert shown["comments_close_at"].startswith(
        str((week_old.published_at + timedelta(days=7)).date())
    )


def test_the_demo_page_shows_the_newest_article_with_the_widget_under_it(client):
    older = ArticleFactory(published_at=timezone.now() - timedelta(days=3))
    newest = ArticleFactory(body="First paragraph.\n\nSecond paragraph.")

    home = client.get("/")
    other = client.get(f"/demo/{older.slug}/")

    assert home.status_code == 200
    page = home.content.decode()
    assert newest.title in page and "<p>Second paragraph.</p>" in page
    assert f'data-replyguard-article="{newest.slug}"' in page
    assert "replyguard/embed.js" in page
    assert f'data-replyguard-article="{older.slug}"' in other.content.decode()
    assert client.get("/demo/no-such-article/").status_code == 404

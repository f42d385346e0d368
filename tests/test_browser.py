"""A moderator in a real browser: Playwright drives Debian's Chromium (`apt-get install chromium`,
which `make test` does when it may) against a live server. Logs in, opens the queue, publishes
one held comment, marks another as spam; the public API then shows the first and not the second.

Screenshots go to a temporary folder, or to REPLYGUARD_SCREENSHOTS_DIR: the README's pictures
come from `REPLYGUARD_SCREENSHOTS_DIR=docs .venv/bin/python -m pytest tests/test_browser.py`."""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from articles.services import DEMO_PAGE, article_page_parse, article_upsert_from_page
from moderation.models import Cause, Comment
from moderation.tasks import pending_comments_score_task
from tests.conftest import require
from tests.factories import CommentFactory

CHROMIUM = shutil.which("chromium")
# The live server answers from another thread, so each test's data is committed, and what the
# migrations made (the Moderators group) is restored after each.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "pw-desk-123456"


@pytest.fixture
def browser_page(monkeypatch):
    require(CHROMIUM is not None, "no chromium on PATH: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, so Django's async guard does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1800, "height": 900})
        # Start with the admin's navigation sidebar folded, as a moderator on a laptop would.
        page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        yield page
        browser.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("REPLYGUARD_SCREENSHOTS_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def held(article, body, score, cause, **fields):
    return CommentFactory(
        article=article,
        body=body,
        status=Comment.Status.HELD,
        spam_score=score,
        model_version="20261128-064500-3f2a1c",
        cause=cause,
        **fields,
    )


@pytest.fixture
def desk_scene(django_user_model):
    article, _ = article_upsert_from_page(page=article_page_parse(DEMO_PAGE.read_text()))
    moderator = django_user_model.objects.create_user(
        "desk", password=PASSWORD, is_staff=True, first_name="Dana"
    )
    moderator.groups.add(Group.objects.get(name="Moderators"))
    parent = CommentFactory(
        article=article, author_name="Ken", body="Sixty years on, the two still need each other."
    )
    reader = held(
        article,
        "Both governments deserve credit. See https://www.mofa.go.jp/a_o/na/kr/ and "
        "https://www.korea.net/ for the joint statement.",
        0.31,
        Cause.LINKS,
        author_name="Mina Park",
        rule_hits=["2 links (held at 2)"],
        spam_reasons=["link to mofa.go.jp"],
    )
    spam = held(
        article,
        "CHECK OUT MY CHANNEL!!! FREE GIFT CARDS for everyone http://bit.ly/x",
        0.93,
        Cause.MODEL,
        author_name="promo4u",
        parent=parent,
        spam_reasons=["shortened link", "'channel'", "all capitals"],
    )
    held(
        article,
        "The casino lobby will love this summit.",
        0.62,
        Cause.SUSPECT_WORD,
        author_name="Lee",
        rule_hits=["suspect 'casino'"],
    )
    return article, reader, spam


# A live server needs committed rows; serialized_rollback restores what migrations created
# (the Moderators group) for the tests that run after this one.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_moderator_clears_the_queue_in_a_browser(
    live_server, browser_page, desk_scene, screenshots
):
    article, reader, spam = desk_scene
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/?next=/admin/moderation/heldcomment/")
    page.fill("#id_username", "desk")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert "Moderation queue" in page.title()
    page.screenshot(path=screenshots / "queue.png", full_page=True)

    def row(comment):
        return page.locator(f"#result_list tr:has(a[href$='/heldcomment/{comment.pk}/change/'])")

    row(reader).locator("button[data-decision=publish]").click()
    page.wait_for_selector(".messagelist .success")
    row(spam).locator("button[data-decision=spam]").click()
    page.wait_for_selector(f".messagelist :text('#{spam.pk}: Mark as spam.')")

    assert row(reader).count() == 0 and row(spam).count() == 0  # both left the queue
    page.goto(f"{live_server.url}/admin/moderation/comment/{reader.pk}/change/")
    page.wait_for_selector("#decision_set-group, .inline-group")
    page.screenshot(path=screenshots / "comment.png", full_page=True)
    assert "Published by a moderator." in page.content()

    url = f"{live_server.url}/api/articles/{article.slug}/comments/"
    with urllib.request.urlopen(url) as response:
        threads = json.load(response)["results"]
    shown = {c["id"] for thread in threads for c in [thread, *thread["replies"]]}
    assert reader.pk in shown and spam.pk not in shown
    decided = {
        c.pk: (c.status, c.decisions.get().decided_by.username)
        for c in Comment.objects.filter(pk__in=[reader.pk, spam.pk])
    }
    assert decided == {reader.pk: ("published", "desk"), spam.pk: ("spam", "desk")}


def login(page, url: str, next_path: str) -> None:
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.fill("#id_username", "desk")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")


def test_the_queue_fits_1440_pixels_with_the_sidebar_open(
    live_server, browser_page, desk_scene, screenshots
):
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'true')")

    login(page, live_server.url, "/admin/moderation/heldcomment/")
    page.wait_for_selector("#result_list")
    page.screenshot(path=screenshots / "queue-1440.png")

    assert page.locator("#nav-sidebar").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    for column in ("comment", "why", "spam score", "reports", "author", "article", "decide"):
        header = page.locator("#result_list thead th", has_text=column).first
        box = header.bounding_box()
        assert box and box["x"] + box["width"] <= 1440, column
    assert page.locator("#result_list thead th.sortable").count() == 0


def test_a_moderator_clears_a_queue_of_10_with_the_keyboard_only(
    live_server, browser_page, desk_scene
):
    article = desk_scene[0]
    Comment.objects.filter(status=Comment.Status.HELD).delete()
    wanted = {}
    for n in range(10):
        spam = n % 2 == 0
        body = f"WIN CASH NOW number {n} http://bit.ly/{n}" if spam else f"A fair point, {n}."
        wanted[held(article, body, 0.5 + n / 100, Cause.MODEL).pk] = "spam" if spam else "published"
    page = browser_page

    login(page, live_server.url, "/admin/moderation/heldcomment/")
    page.wait_for_selector("#result_list tr.rg-selected")
    page.keyboard.press("?")
    assert page.locator("#rg-keys").is_visible()
    page.keyboard.press("Escape")
    for _ in range(10):
        selected = page.locator("#result_list tr.rg-selected")
        text = selected.locator("td.field-short_body, th.field-short_body").inner_text()
        page.keyboard.press("s" if "WIN CASH" in text else "p")
        page.wait_for_selector(".messagelist .success")
        page.wait_for_load_state()

    assert page.locator("#result_list").count() == 0  # the queue is empty
    decided = dict(Comment.objects.filter(pk__in=wanted).values_list("pk", "status"))
    assert decided == wanted


def test_screenshot_of_a_campaign(live_server, browser_page, desk_scene, screenshots):
    from moderation.models import Campaign

    article = desk_scene[0]
    campaign = Campaign.objects.create(grouped_by="near-identical text")
    ask = "Would you mind if I share your {} with my facebook group?"
    texts = [f"{ask.format('blog')} http://bit.ly/3kx", f"{ask.format('site')} http://ow.ly/9Qa",
             f"{ask.format('blog').lower()}  http://is.gd/v2p"]  # fmt: skip
    for n, text in enumerate(texts * 3):
        CommentFactory(article=article, body=text, status="held", campaign=campaign,
                       author_name=f"Reader {n}", author_email=f"w{n}@mail{n}.example")  # fmt: skip
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})

    login(page, live_server.url, "/admin/moderation/campaign/")
    page.wait_for_selector("#result_list")
    page.screenshot(path=screenshots / "campaigns.png")
    page.goto(f"{live_server.url}/admin/moderation/campaign/{campaign.pk}/change/")
    page.wait_for_selector("text=Sample comments")
    page.screenshot(path=screenshots / "campaign.png", full_page=True)

    assert "near-identical text" in page.content() and "Reader 0" in page.content()
    assert page.content().count(article.title[:30]) == 1  # each article it touched, once


def test_an_insult_is_held_and_its_words_are_marked_in_the_queue(
    live_server, browser_page, desk_scene, screenshots, spam_model, abuse_model
):
    article, _, _ = desk_scene
    insult = CommentFactory(
        article=article,
        author_name="Rex",
        body="Only a pathetic moron would believe this, you stupid idiot.",
        status=Comment.Status.PENDING,
    )
    pending_comments_score_task.run()  # the worker's chain, both models
    insult.refresh_from_db()
    assert (insult.status, insult.cause) == ("held", Cause.ABUSE)

    login(browser_page, live_server.url, "/admin/moderation/heldcomment/")
    row = browser_page.locator(f"#result_list tr:has(a[href$='/heldcomment/{insult.pk}/change/'])")
    row.wait_for()
    browser_page.screenshot(path=screenshots / "queue-abuse.png")

    marked = set(row.locator("mark").all_inner_texts())
    assert marked & {"moron", "stupid", "idiot"} and "believe" not in marked
    assert "abuse model" in row.inner_text()

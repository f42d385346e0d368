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
from tests.conftest import require
from tests.factories import CommentFactory

CHROMIUM = shutil.which("chromium")
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

"""The readers' widget in a real browser, as on a newsroom's site: the article page on one
origin, the API (gunicorn, a real Celery worker, the filesystem broker) on another."""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from typing import NamedTuple

import pytest

from harness.stack import free_port, manage, running_stack
from tests.conftest import require
from tests.test_pipeline import stack_env

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium")
EMAIL = "mina.private@example.org"
READER = "Good to see both leaders keep talking. The 1965 treaty is the backdrop here."
FORM_SPAM = "You have brought up a very good points, regards for the post."
AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
# One published comment from the start, so each test can run alone.
PUBLISHED = (
    "from articles.models import Article; from moderation.models import Comment; "
    "from django.utils import timezone; "
    "Comment.objects.create(article=Article.objects.order_by('pk').first(), "
    "author_name='Ji-woo', author_email='jiwoo@example.org', author_url='https://jiwoo.example/', "
    "body='The full text of the evacuation agreement is on the ministry site.', "
    "status='published', published_at=timezone.now())"
)
# A thread nested to the depth limit (5), and an article with more threads than a page holds.
DEEP_AND_BUSY = """
from datetime import UTC, datetime
from articles.models import Article
from moderation.models import Comment
from django.utils import timezone
old = datetime(2019, 1, 1, tzinfo=UTC)  # older than the demo article (2024)
deep = Article.objects.create(title="Deep", slug="deep-thread", body="Deep.", published_at=old)
parent = None
for depth in range(6):
    parent = Comment.objects.create(article=deep, parent=parent, depth=depth,
        thread=parent and (parent.thread or parent), author_name=f"Level {depth}",
        author_email=f"level{depth}@example.org", body=f"At depth {depth}.",
        status="published", published_at=timezone.now())
busy = Article.objects.create(title="Busy", slug="busy-thread", body="Busy.", published_at=old)
for n in range(25):
    Comment.objects.create(article=busy, author_name=f"Reader {n}",
        author_email=f"b{n}@example.org",
        body=f"Thread number {n}.", status="published", published_at=timezone.now())
"""
EMPTY_ARTICLE = (
    "from datetime import UTC, datetime; from articles.models import Article; "
    "Article.objects.create(title='Quiet news', slug='quiet-news', body='Nothing yet.', "
    "published_at=datetime(2018, 1, 1, tzinfo=UTC)); "
    "Article.objects.create(title='Closed news', slug='closed-news', body='Old.', "
    "published_at=datetime(2017, 1, 1, tzinfo=UTC), comments_open=False); "
    "Article.objects.create(title='Held news', slug='held-news', body='Watched.', "
    "published_at=datetime(2016, 1, 1, tzinfo=UTC), moderation_mode='premoderated')"
)
PUBLISH_HELD = (
    "from moderation.models import Comment; from moderation.services import comment_decide; "
    "comment_decide(comment=Comment.objects.get(article__slug='held-news'), status='published')"
)


class Site(NamedTuple):
    page: str
    stranger: str
    api: str
    env: dict


def page_server(folder, port):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory, trained_model_dir):
    """The newsroom's page, a page on an unlisted origin, the API, and the stack's environment."""
    require(CHROMIUM is not None, "no chromium on PATH: apt-get install chromium")
    tmp = tmp_path_factory.mktemp("widget")
    page_port, stranger_port = free_port(), free_port()
    env = stack_env(
        tmp, f"sqlite:///{tmp / 'db.sqlite3'}", "filesystem://localhost/", trained_model_dir
    )
    env["REPLYGUARD_EMBED_ORIGINS"] = f"http://localhost:{page_port}"
    manage(
        "collectstatic", "--noinput", "-v0", env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"}
    )
    with running_stack(env_overrides=env, logs=tmp) as stack:
        from harness.stack import http as call

        slug = call("GET", f"{stack.url}/api/articles/")[1]["results"][0]["slug"]
        (tmp / "article.html").write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>News</title></head>"
            f"<body><main><h1>The article</h1><div data-replyguard-article='{slug}'></div>"
            f"<script src='{stack.url}/static/replyguard/embed.js' async></script>"
            "</main></body></html>"
        )
        manage("shell", "-c", EMPTY_ARTICLE, env=stack.env)
        manage("shell", "-c", PUBLISHED, env=stack.env)
        manage("shell", "-c", DEEP_AND_BUSY, env=stack.env)
        servers = [page_server(tmp, page_port), page_server(tmp, stranger_port)]
        yield Site(
            page=f"http://localhost:{page_port}/article.html",
            stranger=f"http://localhost:{stranger_port}/article.html",
            api=stack.url,
            env=stack.env,
        )
        for server in servers:
            server.shutdown()


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


# Every text the widget's live region takes, in order, as a screen reader hears them: what was
# said stays checkable after the next announcement replaced it (a comment decided at once).
RECORD_ANNOUNCEMENTS = """
window.__said = [];
new MutationObserver(() => {
  document.querySelectorAll(".rg-live").forEach((live) => {
    const text = live.textContent;
    if (text && window.__said[window.__said.length - 1] !== text) window.__said.push(text);
  });
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def wait_until_said(page, text: str, timeout: float = 30_000) -> None:
    page.wait_for_function(f"window.__said.includes({text!r})", timeout=timeout)


def open_page(browser, url):
    page = browser.new_page()
    page.add_init_script(RECORD_ANNOUNCEMENTS)
    answers = []

    def keep(response):
        if "/api/" in response.url:
            try:
                answers.append(response.text())
            except Exception:  # a preflight or a redirect has no body to read
                pass

    page.on("response", keep)
    page.goto(url)
    page.wait_for_selector(".rg-form")
    return page, answers


def fill(page, body, name="Mina", email=EMAIL, website=""):
    page.get_by_label("Comment *").fill(body)
    page.get_by_label("Name *").fill(name)
    page.get_by_label("Email *").fill(email)
    page.get_by_label("Website").fill(website)


def test_a_comment_waits_in_place_then_appears_published(site, browser):
    url = site.page
    page, answers = open_page(browser, url)

    fill(page, READER)
    page.get_by_role("button", name="Post Comment").click()

    wait_until_said(page, "Your comment is awaiting moderation.")
    published = page.locator(".rg-comment:not(.rg-mine)", has_text="1965 treaty")
    published.wait_for(timeout=20_000)
    # What a screen reader hears once it is decided: not "awaiting moderation" still.
    wait_until_said(page, "Your comment is published.", timeout=5_000)
    assert page.evaluate("window.__said")[-1] == "Your comment is published."
    assert page.locator(".rg-mine").count() == 0
    assert EMAIL not in page.content()
    assert not [answer for answer in answers if EMAIL in answer]
    assert EMAIL not in page.evaluate("JSON.stringify(localStorage)")  # the page's scripts read it


def test_a_reply_nests_under_its_parent(site, browser):
    url = site.page
    page, _ = open_page(browser, url)
    parent = page.locator(".rg-comment", has_text="evacuation agreement").first
    parent.wait_for(timeout=20_000)

    parent.get_by_role("button", name="Reply").first.click()
    assert page.get_by_text("Reply to Ji-woo").is_visible()
    fill(
        page, "A reply: the treaty's anniversary is next year.", name="Jun", email="jun@example.org"
    )
    page.get_by_role("button", name="Post Comment").click()

    reply = parent.locator(".rg-replies .rg-comment:not(.rg-mine)", has_text="anniversary")
    reply.wait_for(timeout=20_000)


def test_form_spam_never_appears_and_its_author_is_told(site, browser):
    url = site.page
    page, _ = open_page(browser, url)

    fill(page, FORM_SPAM, name="Home Improvement", email="seo@example.net",
         website="http://www.best-mattress-reviews.net/")  # fmt: skip
    page.get_by_role("button", name="Post Comment").click()

    page.get_by_text("Your comment could not be published.").first.wait_for(timeout=20_000)
    page.reload()
    page.wait_for_selector(".rg-form")
    assert page.locator(".rg-comment", has_text="regards for the post").count() == 0


def test_a_bad_email_is_explained_beside_the_email_field(site, browser):
    url = site.page
    page, _ = open_page(browser, url)

    fill(page, "A comment with a typo in the address.", email="mina@example")
    page.get_by_role("button", name="Post Comment").click()

    email = page.get_by_label("Email *")
    page.wait_for_function("document.querySelector('[name=author_email]').ariaInvalid === 'true'")
    error = page.locator(f"#{email.get_attribute('aria-describedby')}")
    assert "valid email" in error.inner_text()
    assert page.get_by_label("Comment *").input_value() == "A comment with a typo in the address."


def test_a_draft_survives_a_reload(site, browser):
    url = site.page
    page, _ = open_page(browser, url)

    page.get_by_label("Comment *").fill("Half a thought, to finish after lunch.")
    page.reload()
    page.wait_for_selector(".rg-form")

    assert page.get_by_label("Comment *").input_value() == "Half a thought, to finish after lunch."


def test_a_page_from_an_unlisted_origin_cannot_use_the_api(site, browser):
    stranger, api = site.stranger, site.api
    page = browser.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(stranger)

    page.wait_for_function("document.querySelector('.rg-live').textContent !== ''")
    posted = page.evaluate(
        """async (api) => {
            try {
                await fetch(api + "/api/articles/x/comments/", {method: "POST",
                    headers: {"Content-Type": "application/json"}, body: "{}"});
                return "sent";
            } catch (e) { return "refused"; }
        }""",
        api,
    )
    assert posted == "refused"
    assert page.locator(".rg-form").count() == 0
    assert any("CORS" in line for line in refused), refused


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/demo/quiet-news/"], ids=["with-comments", "no-comments"])
def test_the_seed_page_has_no_serious_accessibility_violations(site, browser, scheme, path):
    """axe-core, the checker most teams use (from the npm registry: tests/a11y), on the demo
    page the service serves, comments and form included."""
    require(AXE.is_file(), "no axe-core: npm ci --prefix tests/a11y")
    api = site.api
    page = browser.new_page(color_scheme=scheme)
    page.goto(api + path)
    page.wait_for_selector(".rg-form")
    page.wait_for_function("document.querySelector('.rg-count').textContent !== ''")
    page.add_script_tag(path=str(AXE))

    violations = page.evaluate("async () => (await axe.run()).violations")

    serious = [
        (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious


def test_screenshots_of_the_page_on_desktop_mobile_and_dark(site, browser, tmp_path):
    """docs/widget-*.png: REPLYGUARD_SCREENSHOTS_DIR=docs pytest tests/test_widget.py"""
    folder = Path(os.environ.get("REPLYGUARD_SCREENSHOTS_DIR", tmp_path))
    api = site.api
    shots = {
        "widget-desktop.png": {"viewport": {"width": 1280, "height": 900}},
        "widget-mobile.png": {"viewport": {"width": 375, "height": 812}, "is_mobile": True},
        "widget-dark.png": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    }
    for name, options in shots.items():
        page = browser.new_page(**options)
        page.goto(api + "/")
        page.wait_for_selector(".rg-comment")
        page.locator("#comments").scroll_into_view_if_needed()
        page.locator("#comments").screenshot(path=str(folder / name))
        assert (folder / name).stat().st_size > 10_000


def test_keyboard_alone_posts_a_comment(site, browser):
    url = site.page
    page, _ = open_page(browser, url)

    for _ in range(60):  # from the top of the page, as a keyboard user arrives
        if page.evaluate("document.activeElement.name") == "body":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("Typed without a mouse: the summit matters for trade.")
    for value in ("Kim", "kim@example.org", ""):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Post Comment"
    page.keyboard.press("Enter")

    wait_until_said(page, "Your comment is awaiting moderation.")


def test_a_report_is_sent_once(site, browser):
    url = site.page
    page, _ = open_page(browser, url)
    comment = page.locator(".rg-comment:not(.rg-mine) > article").first  # not its replies
    comment.wait_for(timeout=20_000)
    reports = []

    def count_reports(request):
        if request.method == "POST" and request.url.endswith("/report/"):
            reports.append(request)

    page.on("request", count_reports)

    comment.get_by_role("button", name="Report").first.click()
    page.get_by_label("Why should a moderator look at this comment?").select_option("off_topic")
    page.get_by_role("button", name="Send report").click()
    comment.get_by_role("button", name="Reported").first.wait_for()
    page.reload()
    again = page.locator(".rg-comment:not(.rg-mine) > article").first
    again.wait_for()

    assert again.get_by_role("button", name="Reported").first.is_disabled()  # remembered
    assert again.get_by_role("button", name="Report", exact=True).count() == 0
    assert len(reports) == 1


@pytest.fixture(scope="module")
def flooded_site(tmp_path_factory, trained_model_dir):
    """The demo page on a service with flood control on, as production runs it."""
    require(CHROMIUM is not None, "no chromium on PATH: apt-get install chromium")
    tmp = tmp_path_factory.mktemp("flood")
    env = stack_env(
        tmp, f"sqlite:///{tmp / 'db.sqlite3'}", "filesystem://localhost/", trained_model_dir
    )
    env |= {"REPLYGUARD_FLOOD_SECONDS": "30", "REPLYGUARD_MIN_SUBMIT_SECONDS": "0"}
    manage(
        "collectstatic", "--noinput", "-v0", env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"}
    )
    with running_stack(env_overrides=env, logs=tmp) as stack:
        yield stack.url


def test_a_second_quick_comment_shows_a_countdown_and_keeps_the_text(flooded_site, browser):
    page, _ = open_page(browser, flooded_site + "/")
    fill(page, "A first thought on the summit.")
    page.get_by_role("button", name="Post Comment").click()
    wait_until_said(page, "Your comment is awaiting moderation.")

    fill(page, "A second thought, straight after.")
    page.get_by_role("button", name="Post Comment").click()

    countdown = page.get_by_text("One comment at a time: you can post again in")
    countdown.wait_for()
    assert page.get_by_role("button", name="Post Comment").is_disabled()
    assert page.get_by_label("Comment *").input_value() == "A second thought, straight after."


@pytest.fixture(scope="module")
def asking_site(tmp_path_factory, trained_model_dir, trained_abuse_model_dir):
    """The demo page on a service that asks before posting, with both models."""
    require(CHROMIUM is not None, "no chromium on PATH: apt-get install chromium")
    tmp = tmp_path_factory.mktemp("asking")
    env = stack_env(
        tmp, f"sqlite:///{tmp / 'db.sqlite3'}", "filesystem://localhost/", trained_model_dir
    )
    env |= {
        "REPLYGUARD_ASK_BEFORE_POSTING": "true",
        "REPLYGUARD_ABUSE_MODEL_DIR": str(trained_abuse_model_dir),
        "REPLYGUARD_MIN_SUBMIT_SECONDS": "0",
    }
    manage(
        "collectstatic", "--noinput", "-v0", env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"}
    )
    with running_stack(env_overrides=env, logs=tmp) as stack:
        yield stack.url


INSULT = "Only a pathetic moron would write this article, you stupid idiot."


def test_a_reader_is_asked_once_to_rephrase_and_may_post_anyway(asking_site, browser):
    page, _ = open_page(browser, asking_site + "/")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    fill(page, INSULT, email="rex@example.org")

    page.get_by_role("button", name="Post Comment").click()

    ask = page.get_by_role("alert").filter(has_text="may come across as hurtful")
    ask.wait_for()
    assert [url for url in posts if url.endswith("/comments/")] == []  # nothing posted yet
    page.get_by_role("button", name="Post it as it is").click()
    wait_until_said(page, "Your comment is awaiting moderation.")
    assert len([url for url in posts if url.endswith("/comment-draft/")]) == 1
    assert len([url for url in posts if url.endswith("/comments/")]) == 1


def test_after_editing_the_reader_is_not_asked_again_and_a_civil_comment_is_never_asked(
    asking_site, browser
):
    page, _ = open_page(browser, asking_site + "/")
    drafts = []
    page.on("request", lambda r: drafts.append(r) if r.url.endswith("/comment-draft/") else None)
    fill(page, INSULT, email="ray@example.org")
    page.get_by_role("button", name="Post Comment").click()
    page.get_by_role("button", name="Edit my comment").click()
    assert page.get_by_role("button", name="Post it as it is").count() == 0

    page.get_by_label("Comment *").fill("Only a careless writer would miss the treaty's context.")
    with page.expect_response(
        lambda r: r.url.endswith("/comments/") and r.request.method == "POST"
    ):
        page.get_by_role("button", name="Post Comment").click()
    assert len(drafts) == 1  # asked once: the edited comment is posted without a second check

    fill(page, READER, name="Mina", email="mina.civil@example.org")
    with page.expect_response(
        lambda r: r.url.endswith("/comments/") and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Post Comment").click()
    assert posted.value.status == 202 and len(drafts) == 2  # checked, and not asked
    assert page.get_by_text("may come across as hurtful").count() == 0


def test_a_closed_article_says_so_instead_of_the_form(site, browser):
    api = site.api
    page = browser.new_page()
    page.goto(api + "/demo/closed-news/")

    page.get_by_text("Comments are closed.").wait_for()
    assert page.locator(".rg-form").count() == 0


def test_a_post_that_never_arrives_keeps_the_text_and_offers_a_retry(site, browser):
    url = site.page
    page, _ = open_page(browser, url)
    page.route("**/comments/", lambda route: route.abort() if route.request.method == "POST"
               else route.continue_())  # fmt: skip
    fill(page, "Written on a train, sent in a tunnel.")

    page.get_by_role("button", name="Post Comment").click()

    page.get_by_text("Your comment could not be sent. Nothing is lost: try again.").wait_for()
    assert page.get_by_role("button", name="Try again").is_enabled()
    assert page.get_by_label("Comment *").input_value() == "Written on a train, sent in a tunnel."


# Headless Chromium has no other tab to switch to: the page is told it is hidden, as a browser
# would tell it.
TAB_HIDDEN = """Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
                document.dispatchEvent(new Event("visibilitychange"))"""
TAB_SHOWN = 'delete document.hidden; document.dispatchEvent(new Event("visibilitychange"))'


def test_polling_pauses_while_the_tab_is_hidden_and_ends_once_nothing_is_pending(site, browser):
    api = site.api
    page = browser.new_page()
    page.add_init_script(RECORD_ANNOUNCEMENTS)
    polls = []
    page.on("request", lambda request: polls.append(request.headers.get("if-none-match"))
            if request.method == "GET" and "/articles/held-news/comments/" in request.url
            else None)  # fmt: skip

    def polls_during(milliseconds):
        before = len(polls)
        page.wait_for_timeout(milliseconds)
        return polls[before:]

    page.goto(api + "/demo/held-news/")
    page.wait_for_selector(".rg-form")
    fill(page, "Held for a moderator: this article is pre-moderated.")
    page.get_by_role("button", name="Post Comment").click()
    wait_until_said(page, "Your comment is awaiting moderation.")

    visible = polls_during(7_000)  # one poll each 3 s, each asking only "changed?"
    page.evaluate(TAB_HIDDEN)
    hidden = polls_during(7_000)
    page.evaluate(
        """delete document.hidden; document.dispatchEvent(new Event("visibilitychange"))"""
    )
    shown_again = polls_during(4_000)
    manage("shell", "-c", PUBLISH_HELD, env=site.env)
    page.locator(".rg-comment:not(.rg-mine)", has_text="pre-moderated").wait_for(timeout=20_000)
    page.wait_for_timeout(1_000)  # the last poll's own follow-up reads
    after_published = polls_during(7_000)

    assert len(visible) >= 2 and all(visible)
    assert hidden == []
    assert shown_again
    assert after_published == []


def test_the_widgets_css_touches_nothing_outside_the_widget():
    css = (Path(__file__).parents[1] / "moderation/static/replyguard/embed.css").read_text()
    rules = re.sub(r"/\*.*?\*/|@media[^{]*\{", "", css, flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", rules) for s in block.split(",")]

    assert selectors and all(s.startswith(".replyguard") for s in selectors), selectors


def test_no_reply_is_offered_where_replies_would_nest_too_deep(site, browser):
    api = site.api
    page = browser.new_page()
    page.goto(api + "/demo/deep-thread/")
    deepest = page.locator('.rg-comment[data-depth="5"] > article')
    deepest.wait_for()

    assert deepest.get_by_role("button", name="Reply").count() == 0
    below_limit = page.locator('.rg-comment[data-depth="4"] > article')
    assert below_limit.get_by_role("button", name="Reply").count() == 1


def test_more_threads_load_on_request_and_the_order_can_be_reversed(site, browser):
    api = site.api
    page = browser.new_page()
    page.goto(api + "/demo/busy-thread/")
    threads = page.locator(".rg-threads > .rg-comment")
    page.get_by_text("25 Comments").wait_for()
    assert threads.count() == 20

    page.get_by_role("button", name="Load more comments").click()
    page.wait_for_function("document.querySelectorAll('.rg-threads > .rg-comment').length === 25")
    assert page.get_by_role("button", name="Load more comments").is_hidden()

    order = page.locator(".rg-order")
    assert order.inner_text().startswith("Oldest first")  # the order shown, then the choice
    page.get_by_role("button", name="Show newest first").click()
    page.get_by_role("button", name="Show oldest first").wait_for()
    assert order.inner_text().startswith("Newest first")
    assert "Thread number 24." in threads.first.inner_text()

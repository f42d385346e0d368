"""The Akismet-compatible API through the real `akismet` client from PyPI, sync and async, over
HTTP to a live server: the client calls Akismet's own URL, and an httpx transport sends it here,
as the README shows."""

import re
from pathlib import Path

import akismet
import httpx
import pytest

from moderation.akismet.checks import site_key_create
from moderation.models import ExternalCheck

# The live server answers from another thread: the database is shared for real, and what the
# migrations put in it (the Moderators group, content types) is restored after each test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
README = Path(__file__).resolve().parents[1] / "README.md"
BLOG = "https://news.example"
READER = "The full text of the agreement is on the ministry site, for anyone who wants to check."
FORM_SPAM = "You have brought up a very good points, regards for the post."
SPAM_SITE = "http://www.best-mattress-reviews.net/"


def readme_client_code() -> str:
    """The README's Python under "Use ReplyGuard as your Akismet", as a user would copy it."""
    section = README.read_text().split("## Use ReplyGuard as your Akismet", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def readme_client(url: str, key: str, blog: str = BLOG):
    code = readme_client_code()
    code = code.replace('"https://comments.news.example"', repr(url))
    code = code.replace('"YOUR-KEY"', repr(key)).replace('"https://news.example"', repr(blog))
    scope = {}
    exec(compile(code, str(README), "exec"), scope)
    return scope["client"]


class AsyncToServer(httpx.AsyncHTTPTransport):
    def __init__(self, url: str):
        super().__init__()
        self.target = httpx.URL(url)

    async def handle_async_request(self, request):
        request.url = request.url.copy_with(
            scheme=self.target.scheme, host=self.target.host, port=self.target.port
        )
        request.headers["Host"] = self.target.netloc.decode()
        return await super().handle_async_request(request)


@pytest.fixture
def key(spam_model):
    return site_key_create(name="Partner", blogs=[BLOG])[1]


def test_the_readme_client_checks_ham_spam_and_the_discard_tip(live_server, key):
    client = readme_client(live_server.url, key)  # validated_client: verify-key first

    ham = client.comment_check(user_ip="203.0.113.45", comment_content=READER,
                               comment_author="Mina", comment_type="comment")  # fmt: skip
    again = client.comment_check(user_ip="203.0.113.45", comment_content=READER)  # a repeat
    blatant = client.comment_check(
        user_ip="198.51.100.8", comment_content=FORM_SPAM, comment_author_url=SPAM_SITE
    )

    assert ham == akismet.CheckResponse.HAM
    assert again == akismet.CheckResponse.SPAM  # spam, but not for discarding unseen
    assert blatant == akismet.CheckResponse.DISCARD
    assert ExternalCheck.objects.count() == 4  # the README's own check, then these three


def test_a_bad_key_or_a_blog_not_its_own_raises_the_clients_api_key_error(live_server, key):
    with pytest.raises(akismet.APIKeyError):
        readme_client(live_server.url, "0" * 32)
    with pytest.raises(akismet.APIKeyError):
        readme_client(live_server.url, key, blog="https://elsewhere.example")


def test_the_test_triggers_through_the_client(live_server, key):
    client = readme_client(live_server.url, key)

    spam = client.comment_check(user_ip="203.0.113.9", comment_author="akismet-guaranteed-spam",
                                comment_content=READER, is_test=True)  # fmt: skip
    ham = client.comment_check(user_ip="203.0.113.10", user_role="administrator",
                               comment_content=FORM_SPAM, is_test=True)  # fmt: skip

    assert spam == akismet.CheckResponse.SPAM and ham == akismet.CheckResponse.HAM
    assert ExternalCheck.objects.filter(is_test=True).count() == 2


def test_submit_spam_and_submit_ham_are_recorded_as_the_sites_labels(live_server, key):
    client = readme_client(live_server.url, key)
    client.comment_check(user_ip="203.0.113.11", comment_content=READER)

    assert client.submit_spam(user_ip="203.0.113.11", comment_content=READER) is True
    assert client.submit_ham(user_ip="203.0.113.12", comment_content=FORM_SPAM) is True

    labelled = ExternalCheck.objects.exclude(label="")
    assert dict(labelled.values_list("body", "label")) == {READER: "spam", FORM_SPAM: "ham"}
    assert set(labelled.values_list("label_source", flat=True)) == {"site"}


def test_an_unreachable_server_gives_the_clients_request_error():
    with pytest.raises(akismet.RequestError):
        readme_client("http://127.0.0.1:9", "0" * 32)  # the discard port: nothing listens


@pytest.mark.anyio
async def test_the_async_client_verifies_checks_and_submits(live_server, key):
    http = httpx.AsyncClient(
        transport=AsyncToServer(live_server.url), headers={"User-Agent": akismet.USER_AGENT}
    )
    config = akismet.Config(key=key, url=BLOG)
    client = await akismet.AsyncClient.validated_client(config=config, http_client=http)

    ham = await client.comment_check(user_ip="203.0.113.20", comment_content=READER)
    blatant = await client.comment_check(user_ip="203.0.113.21", comment_content=FORM_SPAM,
                                         comment_author_url=SPAM_SITE)  # fmt: skip
    submitted = await client.submit_ham(user_ip="203.0.113.21", comment_content=FORM_SPAM)

    assert (ham, blatant, submitted) == (
        akismet.CheckResponse.HAM,
        akismet.CheckResponse.DISCARD,
        True,
    )
    with pytest.raises(akismet.APIKeyError):
        bad = akismet.Config(key="0" * 32, url=BLOG)
        await akismet.AsyncClient.validated_client(config=bad, http_client=http)
    with pytest.raises(akismet.RequestError):
        down = httpx.AsyncClient(transport=AsyncToServer("http://127.0.0.1:9"))
        await akismet.AsyncClient(config=config, http_client=down).comment_check(user_ip="1.2.3.4")
    await http.aclose()


@pytest.fixture
def anyio_backend():
    return "asyncio"

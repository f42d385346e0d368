"""A reader's data: export and erasure on request, and IP addresses cut after retention."""

import json
import urllib.error
import urllib.request
from contextlib import suppress
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from harness.stack import embedded_env, wait_for, web_alone
from moderation.models import AuthorDataRequest, Comment
from moderation.privacy import (
    REMOVED_BODY,
    author_export,
    comment_truncate_old_ips,
    truncated_ip,
)
from moderation.services import comment_decide
from tests.factories import CommentFactory

pytestmark = pytest.mark.django_db

EMAIL = "Mina.Park@example.org"


@pytest.fixture
def minas_comments():
    return [
        CommentFactory(
            author_email=EMAIL,
            author_name="Mina Park",
            ip_address="203.0.113.9",
            user_agent="Firefox/130",
            author_url="https://mina.example.org/",
            body=f"Mina's comment {i}",
        )
        for i in range(2)
    ]


def test_export_gives_every_comment_of_the_email_with_its_private_fields(minas_comments):
    other = CommentFactory(author_email="someone@example.org")
    out = StringIO()

    call_command("export_author_data", "mina.park@EXAMPLE.org", stdout=out)

    exported = json.loads(out.getvalue())
    assert [c["id"] for c in exported["comments"]] == [c.pk for c in minas_comments]
    first = exported["comments"][0]
    assert (first["author_email"], first["ip_address"], first["user_agent"]) == (
        EMAIL,
        "203.0.113.9",
        "Firefox/130",
    )
    assert other.pk not in [c["id"] for c in exported["comments"]]
    assert {"spam_score", "spam_reasons", "cause", "rule_hits", "decisions"} <= set(first)
    record = AuthorDataRequest.objects.get()
    assert (record.kind, record.comments) == ("export", 2)


def test_export_includes_the_decisions_on_each_comment(minas_comments):
    comment_decide(comment=minas_comments[0], status="spam", reason="Spam after all.")

    exported = author_export(email=EMAIL)

    decisions = exported["comments"][0]["decisions"]
    assert [(d["to_status"], d["reason"]) for d in decisions][-1] == ("spam", "Spam after all.")


def test_erase_removes_every_private_field_and_keeps_the_text(minas_comments):
    other = CommentFactory(author_email="someone@example.org", ip_address="192.0.2.1")

    call_command("erase_author", EMAIL, stdout=StringIO())

    for comment in Comment.objects.filter(pk__in=[c.pk for c in minas_comments]):
        assert (comment.author_name, comment.author_email, comment.author_url) == (
            "Anonymous",
            "",
            "",
        )
        assert (comment.ip_address, comment.poster_network, comment.user_agent) == (None, None, "")
        assert comment.body.startswith("Mina's comment")
    other.refresh_from_db()
    assert other.ip_address == "192.0.2.1"
    record = AuthorDataRequest.objects.get()
    assert (record.kind, record.comments, record.bodies_removed) == ("erase", 2, False)
    stored = json.dumps(list(AuthorDataRequest.objects.values()), default=str) + json.dumps(
        list(Comment.objects.values_list("author_email", "author_name", "body")), default=str
    )
    assert EMAIL.lower() not in stored.lower()


def test_an_erased_name_leaves_the_public_thread_at_once(client, minas_comments):
    url = f"/api/articles/{minas_comments[0].article.slug}/comments/"
    before = client.get(url)

    call_command("erase_author", EMAIL, stdout=StringIO())

    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["results"][0]["author_name"] == "Anonymous"


def test_erase_can_remove_the_text_too(minas_comments):
    minas_comments[0].spam_reasons = ["word 'mina'"]
    minas_comments[0].save()

    call_command("erase_author", EMAIL, "--remove-bodies", stdout=StringIO())

    bodies = set(Comment.objects.values_list("body", "body_fingerprint"))
    assert bodies == {(REMOVED_BODY, "")}
    assert Comment.objects.filter(spam_reasons=[]).count() == 2
    assert AuthorDataRequest.objects.get().bodies_removed


@pytest.mark.parametrize(
    "address, network",
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
    ],
)
def test_an_address_is_cut_to_its_network(address, network):
    assert truncated_ip(address) == network


def test_ip_addresses_are_truncated_after_the_retention_period_and_only_then():
    old_v4 = CommentFactory(ip_address="203.0.113.77")
    old_v6 = CommentFactory(ip_address="2001:db8:abcd:12:34::1")
    old_none = CommentFactory(ip_address=None)
    recent = CommentFactory(ip_address="198.51.100.5")
    Comment.objects.filter(pk__in=[old_v4.pk, old_v6.pk, old_none.pk]).update(
        created_at=timezone.now() - timedelta(days=31)
    )

    assert comment_truncate_old_ips(older_than=timedelta(days=30), batch_size=2) == 3
    assert comment_truncate_old_ips(older_than=timedelta(days=30)) == 0  # done once

    assert set(Comment.objects.values_list("poster_network", flat=True)) == {
        "203.0.113.0",
        "2001:db8:abcd::",
        None,
        "198.51.100.5",
    }
    addresses = dict(Comment.objects.values_list("pk", "ip_address"))
    assert addresses == {
        old_v4.pk: "203.0.113.0",
        old_v6.pk: "2001:db8:abcd::",
        old_none.pk: None,
        recent.pk: "198.51.100.5",
    }


def test_the_admin_exports_and_erases_selected_authors(client, admin_user, minas_comments):
    client.force_login(admin_user)
    url = "/admin/moderation/comment/"
    selected = {"_selected_action": [minas_comments[0].pk]}

    export = client.post(url, {"action": "export_authors_data", **selected})
    erase = client.post(url, {"action": "erase_authors", **selected}, follow=True)

    assert export["Content-Disposition"].startswith("attachment")
    assert len(json.loads(export.content)[0]["comments"]) == 2
    assert "Erased 1 author(s) from 2 comment(s)" in erase.content.decode()
    assert set(AuthorDataRequest.objects.values_list("kind", "done_by")) == {
        ("export", admin_user.pk),
        ("erase", admin_user.pk),
    }


def test_erase_keeping_the_text_drops_what_the_service_wrote_about_the_website(minas_comments):
    comment = minas_comments[0]
    comment.spam_reasons = ["website field: a keyword domain", "a link to example.org"]
    comment.rule_hits = ["a link to example.org (a blocked domain)", "suspect 'casino'"]
    comment.save()
    comment_decide(comment=comment, status="spam", reason="Rule: a link to example.org.")

    call_command("erase_author", EMAIL, stdout=StringIO())

    comment.refresh_from_db()
    assert comment.spam_reasons == []
    assert comment.rule_hits == ["suspect 'casino'"]
    assert comment.body.startswith("Mina's comment")
    reasons = " ".join(comment.decisions.values_list("reason", flat=True))
    assert "example.org" not in reasons and "[erased website]" in reasons


@pytest.mark.e2e
def test_the_access_log_keeps_no_query_string_so_no_key_email_ip_or_receipt(tmp_path):
    # Akismet clients may send their fields in the query; a receipt travels in it by design.
    log = tmp_path / "web.log"
    secrets = ("KEY0123456789", "mina@example.org", "203.0.113.45", "RECEIPT0123456789")
    access_log = ("--access-logfile", "-")
    with web_alone(embedded_env(tmp_path), log, workers=1, options=access_log) as (_, url):
        for path in (
            f"/1.1/comment-check?api_key={secrets[0]}&comment_author_email={secrets[1]}"
            f"&user_ip={secrets[2]}",
            f"/api/comments/1/?receipt={secrets[3]}",
        ):
            with suppress(urllib.error.HTTPError):
                urllib.request.urlopen(url + path, timeout=10).close()
        wait_for(lambda: "/api/comments/1/" in log.read_text(), timeout=10, what="the log line")

    logged = log.read_text()
    assert "/1.1/comment-check" in logged  # the path is logged, the query is not
    assert not [secret for secret in secrets if secret in logged], logged[-2000:]


def test_a_refused_host_name_is_not_logged(client, caplog):
    # Akismet's older clients put the key in the host name: KEY.rest.akismet.com.
    with caplog.at_level("WARNING"):
        response = client.post("/1.1/comment-check", HTTP_HOST="KEY0123456789.rest.akismet.com")

    assert response.status_code == 400
    assert caplog.records  # refused, and said so
    assert "KEY0123456789" not in caplog.text

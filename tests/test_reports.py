"""Reader reports through the public API."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.models import Comment, Report
from moderation.posters import private_sha256
from moderation.privacy import author_erase, author_export
from moderation.tasks import ip_retention_task
from tests.factories import CommentFactory

pytestmark = pytest.mark.django_db


def report(api_client, comment_id, ip="203.0.113.1", **body):
    return api_client.post(
        f"/api/comments/{comment_id}/report/",
        {"reason": "abusive"} | body,
        format="json",
        REMOTE_ADDR=ip,
    )


def test_a_report_is_accepted_and_keeps_no_address_of_the_reader(api_client):
    comment = CommentFactory(status="published")

    response = report(api_client, comment.pk, email="reader@example.org")

    assert response.status_code == 202
    stored = Report.objects.get()
    assert (stored.comment, stored.reason) == (comment, "abusive")
    assert "203.0.113.1" not in str(Report.objects.values().get())
    assert "reader@example.org" not in str(Report.objects.values().get())


def test_one_report_per_reader_per_comment(api_client):
    comment = CommentFactory(status="published")
    report(api_client, comment.pk, email="reader@example.org")

    again = report(api_client, comment.pk, ip="203.0.113.1")

    assert again.status_code == 409
    assert list(again.json()) == ["comment"]
    assert Report.objects.count() == 1


def test_a_known_email_from_another_network_is_answered_as_any_report_and_counted_once(
    api_client,
):
    # A 409 here told anyone who typed an email whether its owner had reported the comment.
    comment = CommentFactory(status="published")
    report(api_client, comment.pk, email="reader@example.org")

    guessed = report(api_client, comment.pk, ip="198.51.100.2", email="Reader@Example.org")
    unknown = report(api_client, comment.pk, ip="198.51.100.3", email="someone@example.org")

    assert guessed.status_code == unknown.status_code == 202
    assert guessed.json() == unknown.json()
    assert Report.objects.count() == 2  # the known email's second report is not counted


def test_enough_reports_send_a_published_comment_back_to_the_queue(api_client, settings):
    settings.REPLYGUARD_REPORTS_TO_HOLD = 3
    comment = CommentFactory(status="published")

    for n in range(3):
        assert report(api_client, comment.pk, ip=f"192.0.2.{n}").status_code == 202
        comment.refresh_from_db()
        assert comment.status == ("held" if n == 2 else "published")

    decision = comment.decisions.get()
    assert decision.decided_by is None  # the system, so never a training label
    assert "3 reader reports" in decision.reason
    assert not Comment.objects.labeled_by_moderators().exists()
    assert report(api_client, comment.pk, ip="192.0.2.9").status_code == 404  # no longer shown


@pytest.mark.parametrize("status", ["pending", "held", "spam", "rejected"])
def test_only_published_comments_can_be_reported(api_client, status):
    comment = CommentFactory(status=status)

    response = report(api_client, comment.pk)

    assert response.status_code == 404
    assert list(response.json()) == ["comment"]


def test_an_unknown_reason_gets_400_naming_it(api_client):
    comment = CommentFactory(status="published")

    response = report(api_client, comment.pk, reason="boring")

    assert response.status_code == 400
    assert list(response.json()) == ["reason"]


def test_reports_are_rate_limited_per_ip(api_client, settings):
    settings.REPLYGUARD_RATE_REPORT_POST = "2/minute"
    comments = CommentFactory.create_batch(3, status="published")

    codes = [report(api_client, c.pk).status_code for c in comments]

    assert codes == [202, 202, 429]


def test_a_reporters_address_cannot_be_found_by_hashing_every_address(api_client, settings):
    comment = CommentFactory(status="published")
    report(api_client, comment.pk, ip="203.0.113.7", email="reader@example.org")
    stored = Report.objects.get()

    # What an attacker with the table would compute for each of the 2**32 IPv4 addresses:
    assert stored.reporter_ip_sha256 != hashlib.sha256(b"203.0.113.7").hexdigest()
    assert stored.reporter_email_sha256 != hashlib.sha256(b"reader@example.org").hexdigest()
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY  # keyed: another key, another hash
    assert private_sha256("203.0.113.7") != stored.reporter_ip_sha256


def test_a_readers_reports_are_exported_and_erased_with_their_comments(api_client):
    comment = CommentFactory(status="published")
    report(api_client, comment.pk, email="Reader@Example.org")

    exported = author_export(email="reader@example.org")
    author_erase(email="reader@example.org")

    assert [(r["comment"], r["reason"]) for r in exported["reports"]] == [(comment.pk, "abusive")]
    assert Report.objects.get().reporter_email_sha256 == ""
    assert author_export(email="reader@example.org")["reports"] == []


def test_reporter_hashes_are_forgotten_with_the_ip_retention(api_client):
    comment = CommentFactory(status="published")
    for ip in ("203.0.113.1", "203.0.113.2"):
        report(api_client, comment.pk, ip=ip, email=f"{ip}@example.org")
    recent = report(api_client, CommentFactory(status="published").pk, email="new@example.org")
    assert recent.status_code == 202
    Report.objects.filter(comment=comment).update(created_at=timezone.now() - timedelta(days=31))

    ip_retention_task()

    old = Report.objects.filter(comment=comment)
    hashes = set(old.values_list("reporter_ip_sha256", "reporter_email_sha256"))
    assert private_sha256("203.0.113.1") not in str(hashes)
    assert {email for _, email in hashes} == {""} and len(hashes) == 2
    kept = Report.objects.exclude(comment=comment).get()
    assert kept.reporter_ip_sha256 == private_sha256("203.0.113.1")
    assert author_export(email="new@example.org")["reports"] != []


def test_one_report_per_ipv6_64(api_client):
    comment = CommentFactory(status="published")

    first = report(api_client, comment.pk, ip="2001:db8:1:2::1")
    rotated = report(api_client, comment.pk, ip="2001:db8:1:2::abcd")

    assert (first.status_code, rotated.status_code) == (202, 409)

"""Lookups that must stay cheap however big the tables grow, on PostgreSQL: each test fills a
table with the rows a busy site holds, runs one lookup, and counts the rows PostgreSQL read
for it (pg_stat_xact_user_tables, this transaction's own counts). Timings would flake on a
busy machine; rows read do not."""

import json

from tests.conftest import django_in_a_subprocess

ROWS_READ = """
import json
from datetime import timedelta
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from tests.factories import ArticleFactory, CommentFactory

call_command("migrate", verbosity=0)
now = timezone.now()

def analyze():  # as autovacuum does to a busy table, now and then
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

{fill}
def table_rows_read(cursor):
    cursor.execute(
        "SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) "
        "FROM pg_stat_xact_user_tables WHERE relname = %s", [{table!r}]
    )
    return cursor.fetchone()[0]

with transaction.atomic(), connection.cursor() as cursor:
    # Counted before and after: since PostgreSQL 15 a backend's counts of earlier transactions
    # not yet flushed (at most once a second, when idle) show in pg_stat_xact_* too, and the
    # fill's UPDATE over 50,000 rows was counted as the lookup's now and then.
    before = table_rows_read(cursor)
    found = {lookup}
    rows_read = table_rows_read(cursor) - before
    print(json.dumps({{"found": repr(found), "rows_read": rows_read}}))
"""


def rows_read(database_url: str, *, fill: str, lookup: str, table: str) -> dict:
    """Run `fill`, then `lookup` (an expression), on a new database; what the lookup returned
    (its repr) and how many rows of `table` it read."""
    code = ROWS_READ.format(fill=fill, lookup=lookup, table=table)
    result = django_in_a_subprocess(code, DATABASE_URL=database_url, timeout=120)
    assert result.stdout, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_campaign_lookup_reads_a_few_index_rows_a_key_however_big_the_wave(
    postgres_database,
):
    # Each batch of a wave looked its keys up by ranking every row under them: on PostgreSQL
    # the worker slowed with the wave's size (0.2 to 0.4 s a batch over 5,000 comments, a
    # standing queue of 12,000 not drained in two minutes).
    figures = rows_read(
        postgres_database,
        fill="""
from moderation.models import CampaignKey
comment = CommentFactory()
CampaignKey.objects.bulk_create(
    CampaignKey(key=7, comment=comment, created_at=now - timedelta(seconds=n)) for n in range(3000)
)
analyze()""",
        lookup="len(__import__('moderation.campaigns.grouping').campaigns.grouping._candidates("
        "{7, 8}, now - timedelta(hours=1)))",
        table="moderation_campaignkey",
    )

    assert figures["found"] == "20"  # REPLYGUARD_CAMPAIGN_CANDIDATES
    assert figures["rows_read"] <= 2 * 20


OLDER_COMMENTS = """
INSERT INTO moderation_comment (article_id, depth, author_name, author_email, author_url, body,
    body_fingerprint, status, spam_reasons, rule_hits, cause, model_version, created_at,
    ip_address, poster_network, ip_truncated, user_agent)
SELECT %s, 0, 'Reader', 'o' || n || '@readers.example', '', 'Comment ' || n, 'comment ' || n,
    'published', '[]', '[]', '', '', now() - n * interval '50 seconds',
    ('10.1.0.0'::inet + n), ('10.1.0.0'::inet + n), false, ''
FROM generate_series(1, 50000) AS n
"""


def test_flood_and_duplicate_checks_read_only_the_posters_own_comments(postgres_database):
    # The check's "posted in the last seconds" branches were on time alone: each POST read
    # every comment of the flood window, thousands while a story goes viral.
    figures = rows_read(
        postgres_database,
        fill="""
from moderation.models import Comment
from tests.test_rows_read import OLDER_COMMENTS
article = ArticleFactory()
Comment.objects.bulk_create(
    Comment(article=article, author_name="P", author_email="poster@readers.example",
            body=f"Mine {n}", body_fingerprint=f"mine {n}", status="published",
            ip_address="192.0.2.1", poster_network="192.0.2.1")
    for n in range(3)
)
for n, mine in enumerate(Comment.objects.filter(author_email="poster@readers.example")):
    Comment.objects.filter(pk=mine.pk).update(created_at=now - timedelta(hours=n + 1))
with connection.cursor() as cursor:  # a month of a busy site: 50,000 readers' comments
    cursor.execute(OLDER_COMMENTS, [article.pk])
analyze()
# The last seconds' comments of other readers, newer than the statistics, as under load.
Comment.objects.bulk_create(
    Comment(article=article, author_name="R", author_email=f"r{n}@readers.example",
            body=f"Comment {n}", body_fingerprint=f"comment {n}", status="pending",
            ip_address=f"10.0.{n // 250}.{n % 250}", poster_network=f"10.0.{n // 250}.{n % 250}")
    for n in range(3000)
)

def check():
    from moderation import flood
    try:
        flood.poster_recent_check(author_email="poster@readers.example",
                                  poster_network="192.0.2.1", body_fingerprint="mine 1")
    except Exception as answer:
        return type(answer).__name__
""",
        lookup="check()",
        table="moderation_comment",
    )

    assert figures["found"] == "'DuplicateComment'"  # the check still finds the repeat
    assert figures["rows_read"] <= 10


def test_a_worker_claims_its_batch_without_reading_the_decided_comments(postgres_database):
    # The claim ordered by id: PostgreSQL walked the primary key through every decided comment
    # before the first pending one, in each batch.
    figures = rows_read(
        postgres_database,
        fill="""
from moderation.models import Comment
from tests.test_rows_read import OLDER_COMMENTS
article = ArticleFactory()
with connection.cursor() as cursor:
    cursor.execute(OLDER_COMMENTS, [article.pk])
    cursor.execute("UPDATE moderation_comment SET created_at = now() - interval '1 minute' "
                   "WHERE id % 2 = 0")  # ids and times in different orders, as in real life
Comment.objects.bulk_create(
    Comment(article=article, author_name="R", author_email=f"p{n}@readers.example",
            body=f"Pending {n}", status="pending")
    for n in range(2000)
)
analyze()

def claim():
    from moderation.scoring import _claim
    return len(list(_claim(Comment.objects.all())[:100]))
""",
        lookup="claim()",
        table="moderation_comment",
    )

    assert figures["found"] == "100"
    assert figures["rows_read"] <= 300


def test_a_queue_page_reads_its_own_rows_however_many_are_held(postgres_database):
    # The queue counted each held comment's reports and sorted them all for every page:
    # 1.2 s with 140,000 held. Its orders now have their own indexes.
    figures = rows_read(
        postgres_database,
        fill="""
from django.test import override_settings
from moderation.models import Comment, Report
from tests.test_rows_read import OLDER_COMMENTS
article = ArticleFactory()
with connection.cursor() as cursor:
    cursor.execute(OLDER_COMMENTS, [article.pk])
    cursor.execute("UPDATE moderation_comment SET status = 'held', spam_score = random(), "
                   "abuse_score = random()")
for comment in Comment.objects.order_by("?")[:30]:
    Report.objects.create(comment=comment, reason="spam", reporter_ip_sha256="r")
analyze()

def pages():
    shown = []
    for abuse_first in (False, True):
        with override_settings(REPLYGUARD_QUEUE_ABUSE_FIRST=abuse_first):
            shown.append([c.report_count for c in Comment.objects.queue()[:50]])
    return [sum(page[:30]) for page in shown]
""",
        lookup="pages()",
        table="moderation_comment",
    )

    assert figures["found"] == "[30, 30]"  # the reported ones first, in either order
    assert figures["rows_read"] <= 300

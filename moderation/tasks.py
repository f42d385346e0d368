"""Celery tasks, each a thin call into the worker's side. The web side imports this module only
to send them (moderation/wakeup.py), so the worker's modules are imported in the tasks."""

from datetime import timedelta

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings


@worker_init.connect
def load_models(**kwargs):
    # Load once in the worker's main process, before the pool forks: every child starts with
    # the models already in (shared, copy-on-write) memory instead of loading them on its first
    # task (the abuse model alone took ~2 s and ~170 MB in each child).
    from moderation import abuse, spam

    spam.active_model()
    abuse.active_model()


@shared_task
def pending_comments_score_task() -> int:
    # Imported here, in every task: the web side imports this module to send tasks, and must
    # not import the worker's side with it (HackSoft's rule for the cycle).
    from moderation.scoring import pending_comments_score

    return pending_comments_score(
        batch_size=max(1, settings.REPLYGUARD_SCORING_BATCH),
        batch_chars=settings.REPLYGUARD_SCORING_BATCH_CHARS,
    )


@shared_task
def stale_pending_requeue_task() -> int:
    from moderation.scoring import stale_pending_requeue

    return stale_pending_requeue(
        older_than=timedelta(seconds=settings.REPLYGUARD_REQUEUE_PENDING_AFTER)
    )


@shared_task
def ip_retention_task() -> int:
    from moderation.campaigns.grouping import campaign_keys_forget_old
    from moderation.privacy import comment_truncate_old_ips, report_forget_old_reporters

    retention = timedelta(days=settings.REPLYGUARD_IP_RETENTION_DAYS)
    report_forget_old_reporters(older_than=retention)
    campaign_keys_forget_old()
    return comment_truncate_old_ips(older_than=retention)


@shared_task
def storms_calm_task() -> int:
    from moderation.storms import storms_calm

    return storms_calm()


@shared_task
def held_digest_send_task() -> int:
    from moderation.notifications import held_digest_send

    return held_digest_send()

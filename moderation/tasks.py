from datetime import timedelta

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings


@worker_init.connect
def load_spam_model(**kwargs):
    # Load once in the worker's main process, before the pool forks: every child starts with
    # the model already in (shared, copy-on-write) memory instead of loading it on its first task.
    from moderation import classifier

    classifier.load_active_model()


@shared_task
def comment_score_pending_task() -> int:
    # Imported here: services import this module to enqueue (HackSoft's rule for the cycle).
    from moderation.services import comment_score_pending

    return comment_score_pending(
        batch_size=max(1, settings.REPLYGUARD_SCORING_BATCH),
        batch_chars=settings.REPLYGUARD_SCORING_BATCH_CHARS,
    )


@shared_task
def comment_requeue_stale_task() -> int:
    from moderation.services import comment_requeue_stale

    return comment_requeue_stale(
        older_than=timedelta(seconds=settings.REPLYGUARD_REQUEUE_PENDING_AFTER)
    )


@shared_task
def comment_truncate_old_ips_task() -> int:
    from moderation.privacy import comment_truncate_old_ips, report_forget_old_reporters

    retention = timedelta(days=settings.REPLYGUARD_IP_RETENTION_DAYS)
    report_forget_old_reporters(older_than=retention)
    return comment_truncate_old_ips(older_than=retention)


@shared_task
def held_digest_send_task() -> int:
    from moderation.notifications import held_digest_send

    return held_digest_send()

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from moderation.scoring import stale_pending_requeue


class Command(BaseCommand):
    help = "Enqueue scoring again for comments still pending (what the periodic sweep does)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=settings.REPLYGUARD_REQUEUE_PENDING_AFTER,
            help="seconds since posting (default: REPLYGUARD_REQUEUE_PENDING_AFTER)",
        )

    def handle(self, *args, older_than: float, **options):
        count = stale_pending_requeue(older_than=timedelta(seconds=older_than))
        self.stdout.write(f"Re-enqueued {count} pending comment(s).")

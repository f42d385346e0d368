import json

from django.core.management.base import BaseCommand

from moderation.scoring import pipeline_status


class Command(BaseCommand):
    help = (
        "Print the pipeline's health as one JSON line, for monitoring: comments pending, the "
        "oldest one's wait, and POST-to-decision times over the last minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=float, default=5, help="the window (default 5)")

    def handle(self, *args, minutes: float, **options):
        self.stdout.write(json.dumps(pipeline_status(minutes=minutes)))

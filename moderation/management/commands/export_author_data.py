import json

from django.core.management.base import BaseCommand

from moderation.privacy import author_export


class Command(BaseCommand):
    help = "Print, as JSON, everything stored about the comments posted with this email."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        self.stdout.write(json.dumps(author_export(email=email), indent=2, ensure_ascii=False))

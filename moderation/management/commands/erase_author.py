from django.core.management.base import BaseCommand

from moderation.privacy import author_erase


class Command(BaseCommand):
    help = "Erase the name, email, URL, IP and user agent of this email's comments."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--remove-bodies", action="store_true", help="remove the comments' text as well"
        )

    def handle(self, *args, email: str, remove_bodies: bool, **options):
        count = author_erase(email=email, remove_bodies=remove_bodies)
        kept = "removed" if remove_bodies else "kept"
        self.stdout.write(f"Erased the author of {count} comment(s); their text was {kept}.")

import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError

MODERATORS = "Moderators"  # the group the migrations create, with what moderators may do


class Command(BaseCommand):
    help = (
        "Create a staff login in the Moderators group: it reads and decides comments in the "
        "admin, and cannot change article policy, word rules or reader data."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="default: a new random one, printed once")

    def handle(self, *args, username: str, email: str, password: str | None, **options):
        if User.objects.filter(username=username).exists():
            raise CommandError(f"There is a user {username} already.")
        password = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(username, email=email, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=MODERATORS))
        self.stdout.write(f"Moderator {username} created. Password: {password}")

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from moderation.akismet.checks import site_key_create
from moderation.models import SiteKey


class Command(BaseCommand):
    help = (
        "Keys for other sites to the Akismet-compatible API: `create --blog URL` prints a new "
        "key once; `list` shows them (never the keys); `deactivate NAME` turns one off."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a key and print it once.")
        create.add_argument(
            "--blog", action="append", required=True, help="A URL the site sends as `blog`."
        )
        create.add_argument("--name", help="Default: the first blog's host name.")
        actions.add_parser("list", help="Every key: name, first letters, state, use.")
        deactivate = actions.add_parser("deactivate", help="Answer 'invalid' to this key.")
        deactivate.add_argument("name")

    def handle(self, *args, action: str, **options):
        getattr(self, action)(**options)

    def create(self, *, blog: list[str], name: str | None, **options):
        if not all(url.startswith(("http://", "https://")) for url in blog):
            raise CommandError("Each --blog is a full URL, such as https://news.example")
        site, key = site_key_create(name=name or blog[0].split("//", 1)[1], blogs=blog)
        self.stdout.write(key)
        self.stderr.write(f"Key for {site.name} (shown once; stored hashed).")

    def list(self, **options):
        for site in SiteKey.objects.annotate(checks_total=Count("checks")):
            state = "active" if site.active else "inactive"
            self.stdout.write(
                f"{site.name}\t{site.key_hint}…\t{state}\t{site.checks_total} checks\t"
                f"{' '.join(site.blogs.split())}"
            )

    def deactivate(self, *, name: str, **options):
        if not SiteKey.objects.filter(name=name).update(active=False):
            raise CommandError(f"No site key named {name}.")
        self.stdout.write(f"{name}: deactivated.")

from pathlib import Path

from django.core.management.base import BaseCommand

from articles.services import DEMO_PAGE, article_page_parse, article_upsert_from_page


class Command(BaseCommand):
    help = "Load the demo news article (safe to run again: it updates the same article)."

    def add_arguments(self, parser):
        parser.add_argument("--page", type=Path, default=DEMO_PAGE, help="a saved article page")

    def handle(self, *args, page: Path, **options):
        article, created = article_upsert_from_page(
            page=article_page_parse(page.read_text(encoding="utf-8"))
        )
        action = "Created" if created else "Updated"
        self.stdout.write(f"{action} demo article: /api/articles/{article.slug}/")

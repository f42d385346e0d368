from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand

from articles.services import (
    DEMO_PAGE,
    DEMO_PUBLISHED_AT,
    article_page_parse,
    article_upsert_from_page,
)


class Command(BaseCommand):
    help = "Load the demo news article (safe to run again: it updates the same article)."

    def add_arguments(self, parser):
        parser.add_argument("--page", type=Path, default=DEMO_PAGE, help="a saved article page")
        parser.add_argument(
            "--published",
            type=datetime.fromisoformat,
            help="when the page was published (ISO 8601); default: the demo article's own date "
            "for the demo page, else now for a new article",
        )

    def handle(self, *args, page: Path, published=None, **options):
        if published is None and page.resolve() == DEMO_PAGE:
            published = DEMO_PUBLISHED_AT
        article, created = article_upsert_from_page(
            page=article_page_parse(page.read_text(encoding="utf-8")), published_at=published
        )
        action = "Created" if created else "Updated"
        self.stdout.write(f"{action} demo article: /api/articles/{article.slug}/")

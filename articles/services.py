import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from articles.models import Article

DEMO_PAGE = Path(__file__).resolve().parent / "demo" / "news-article-page.txt"
# The saved page carries no date; its story does: Kishida and Yoon "met on Friday in Seoul", his
# last visit as prime minister, Friday 6 September 2024 (afternoon in Seoul).
DEMO_PUBLISHED_AT = datetime(2024, 9, 6, 8, 0, tzinfo=UTC)

# Lines of the site's page template that follow the article text, not part of the article.
PAGE_CHROME = {
    "Related Articles",
    "Leave a Reply",
    "Back to top button",
    "Adblock Detected",
}
DATELINE = re.compile(r"^(?P<place>[A-Z][A-Z .'-]+?)\s+[–—-]\s+")


@dataclass(frozen=True)
class ArticlePage:
    section: str
    title: str
    byline: str
    dateline: str
    body: str


def article_page_parse(text: str) -> ArticlePage:
    """Read a saved page: section, title, "By ..." byline, then paragraphs up to the chrome."""
    paragraphs = []
    for line in text.splitlines():
        line = line.strip()
        if line in PAGE_CHROME:
            break
        if line:
            paragraphs.append(line)
    section, title, byline, *body = paragraphs
    dateline = DATELINE.match(body[0]) if body else None
    return ArticlePage(
        section=section,
        title=title,
        byline=byline.removeprefix("By ").strip(),
        dateline=dateline["place"].strip() if dateline else "",
        body="\n\n".join(body),
    )


@transaction.atomic
def article_upsert_from_page(
    *, page: ArticlePage, published_at: datetime | None = None
) -> tuple[Article, bool]:
    """Create or update the article with this title's slug, published at `published_at`; without
    one, a new article is published now and a re-run keeps its publication time."""
    fields = asdict(page) | ({"published_at": published_at} if published_at else {})
    return Article.objects.update_or_create(
        slug=slugify(page.title)[:200],
        defaults=fields,
        create_defaults={"published_at": timezone.now(), **fields},
    )

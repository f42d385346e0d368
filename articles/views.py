"""The demo article page: the seed article with the readers' widget under it, as a newsroom's
page would embed it (served by `make run` at /)."""

from django.shortcuts import get_object_or_404, render

from articles.models import Article


def article_page(request, slug: str | None = None):
    articles = Article.objects.order_by("-published_at", "-id")
    article = get_object_or_404(articles, slug=slug) if slug else articles.first()
    if article is None:
        return render(request, "articles/no_article.html", status=404)
    paragraphs = [p.strip() for p in article.body.split("\n\n") if p.strip()]
    return render(
        request, "articles/article_page.html", {"article": article, "paragraphs": paragraphs}
    )

import factory
from django.utils import timezone

from articles.models import Article
from moderation.models import Comment
from moderation.posters import poster_network
from moderation.rules import text_fingerprint


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Leaders meet in Seoul, part {n}")
    slug = factory.Sequence(lambda n: f"leaders-meet-in-seoul-{n}")
    section = "World"
    byline = "Hyonhee Shin"
    dateline = "SEOUL"
    body = "Japanese Prime Minister Fumio Kishida and South Korean President Yoon Suk Yeol met."
    published_at = factory.LazyFunction(timezone.now)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    article = factory.SubFactory(ArticleFactory)
    author_name = "Mina Park"
    author_email = factory.Sequence(lambda n: f"reader{n}@example.org")
    body = "A thoughtful point about the summit."
    body_fingerprint = factory.LazyAttribute(lambda c: text_fingerprint(c.body))
    status = Comment.Status.PUBLISHED
    ip_address = "203.0.113.7"
    poster_network = factory.LazyAttribute(lambda c: poster_network(c.ip_address))
    parent = None
    thread = factory.LazyAttribute(lambda c: (c.parent.thread or c.parent) if c.parent else None)
    depth = factory.LazyAttribute(lambda c: c.parent.depth + 1 if c.parent else 0)

"""The public, read-only article endpoints."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers

from articles.models import Article
from config.api import ERRORS, PagePagination


class ArticleSummary(serializers.ModelSerializer):
    comments_open = serializers.BooleanField(
        source="accepts_comments",
        read_only=True,
        help_text="Whether a comment posted now is accepted.",
    )
    comments_close_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When comments close by themselves, if any."
    )

    class Meta:
        model = Article
        fields = [
            "slug",
            "title",
            "section",
            "byline",
            "dateline",
            "published_at",
            "comments_open",
            "comments_close_at",
        ]


class ArticleDetail(ArticleSummary):
    class Meta(ArticleSummary.Meta):
        fields = [*ArticleSummary.Meta.fields, "body"]


@extend_schema_view(get=extend_schema(responses={200: ArticleSummary(many=True), 404: ERRORS}))
class ArticleListApi(generics.ListAPIView):
    queryset = Article.objects.all()
    serializer_class = ArticleSummary
    pagination_class = PagePagination


@extend_schema_view(get=extend_schema(responses={200: ArticleDetail, 404: ERRORS}))
class ArticleDetailApi(generics.RetrieveAPIView):
    queryset = Article.objects.all()
    serializer_class = ArticleDetail
    lookup_field = "slug"

"""The public, read-only article endpoints."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination

from articles.models import Article

# The body of every 4xx: each field at fault with its messages, or `detail` for the request.
ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"author_email": ["Enter a valid email address."]},
}


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        # Read per request: both sizes are settings a newsroom (or a test) can tune.
        self.page_size = settings.REPLYGUARD_PAGE_SIZE
        self.max_page_size = settings.REPLYGUARD_MAX_PAGE_SIZE
        return super().get_page_size(request)


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

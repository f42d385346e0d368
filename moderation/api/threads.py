"""/api/articles/<slug>/comments/ and /comment-form/: readers read an article's threads,
load the comment form and post. Output serializers list their fields explicitly: a reader's
email, IP and user agent are never among them."""

import unicodedata

from django.conf import settings
from django.core.validators import URLValidator
from django.utils.functional import cached_property
from django.utils.html import linebreaks
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from articles.models import Article
from config.api import DETAIL, ERRORS, PagePagination, client_ip
from moderation import botcheck, cache
from moderation.cache import FailOpenThrottle, SlidingWindowThrottle
from moderation.models import Comment, attach_published_replies
from moderation.posters import poster_network
from moderation.receipts import author_status, comment_receipt
from moderation.services import comment_create
from moderation.threads import thread_page_response


@extend_schema_field(OpenApiTypes.STR)
class BodyHtml(serializers.Field):
    """The body as safe HTML. We accept plain text only, so escaping is the whole job (Django's
    own escape: every <, >, &, quote becomes an entity and no markup survives); a sanitiser such
    as nh3 would be for accepting *some* HTML, which we don't. Blank lines become paragraphs."""

    def __init__(self, **kwargs):
        help_text = "The body escaped for HTML, with paragraphs and line breaks."
        super().__init__(source="body", read_only=True, help_text=help_text, **kwargs)

    def to_representation(self, body):
        return linebreaks(body, autoescape=True)


class CommentBody(serializers.CharField):
    def __init__(self, **kwargs):
        # Fields are re-built for every serializer instance, so the setting is read per request.
        kwargs["max_length"] = settings.REPLYGUARD_BODY_MAX_LENGTH
        super().__init__(**kwargs)


class PublicComment(serializers.ModelSerializer):
    body_html = BodyHtml()

    class Meta:
        model = Comment
        fields = [
            "id",
            "parent",
            "author_name",
            "author_url",
            "body",
            "body_html",
            "published_at",
            "replies",
        ]


# A thread nests its published replies; declared after the class because it refers to itself.
PublicComment._declared_fields["replies"] = PublicComment(
    many=True, read_only=True, source="published_replies"
)


class AuthorsComment(serializers.ModelSerializer):
    """A comment as its author may see it with its receipt: what became of it, never why."""

    body_html = BodyHtml()
    status = serializers.SerializerMethodField(
        help_text="awaiting_moderation, published or not_published."
    )

    class Meta:
        model = Comment
        fields = [
            "id",
            "status",
            "parent",
            "author_name",
            "author_url",
            "body",
            "body_html",
            "created_at",
        ]

    def get_status(self, comment) -> str:
        return author_status(comment)


class CommentAccepted(AuthorsComment):
    """The answer to a POST: the comment as it was taken, and the receipt to follow it by."""

    # Always "pending" in the answer to a POST: the spam check decides later, and a comment the
    # bot check filed as spam at once must look no different to its sender.
    status = serializers.SerializerMethodField()
    receipt = serializers.SerializerMethodField(
        help_text="Keep it: GET /api/comments/<id>/?receipt=… tells its holder what became of "
        "the comment."
    )

    class Meta(AuthorsComment.Meta):
        fields = [*AuthorsComment.Meta.fields, "receipt"]

    def get_status(self, comment) -> str:
        return Comment.Status.PENDING

    def get_receipt(self, comment) -> str:
        return comment_receipt(comment.pk)


class CommentInput(serializers.Serializer):
    author_name = serializers.CharField(max_length=100)
    author_email = serializers.EmailField(max_length=254, help_text="Private: never shown.")
    author_url = serializers.URLField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"], message="Enter an http(s) URL.")],
    )
    body = CommentBody(help_text="Plain text; HTML is shown as typed, never run.")
    parent = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Id of the published comment on this article that this replies to.",
    )
    form_token = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="From GET .../comment-form/ when the form loads (required when the site sets "
        "REPLYGUARD_REQUIRE_FORM_TOKEN).",
    )
    homepage = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Honeypot: a form field hidden from readers. Leave it empty.",
    )

    def validate_author_url(self, url):
        """No character a page could misread: quotes and angle brackets end an attribute or
        open a tag, and bidi or control characters make a link read as another."""
        if any(c in '"<>`\\' or unicodedata.category(c) in ("Cc", "Cf") for c in url):
            raise serializers.ValidationError(
                "Enter an http(s) URL without quotes, angle brackets or control characters."
            )
        return url

    def validate_author_email(self, email):
        """Stored in lower case (flood control, history and erasure compare it so): validate
        what is stored, as lowercasing can make a valid address invalid ('İ' -> 'i̇')."""
        email = email.strip().lower()
        serializers.EmailField().run_validators(email)
        return email

    def validate_form_token(self, token):
        """The token's age and nonce (botcheck.FormToken), or None without a token."""
        if not token:
            if settings.REPLYGUARD_REQUIRE_FORM_TOKEN:
                raise serializers.ValidationError("Missing: reload the page.")
            return None
        try:
            return botcheck.form_token_read(token, article_slug=self.context["article"].slug)
        except botcheck.InvalidFormToken as error:
            raise serializers.ValidationError(str(error)) from None

    def validate(self, data):
        """The bot-check fields become what comment_create takes: why the submission looks like
        a bot's ("" if it doesn't) and the form token's nonce (one token, one comment)."""
        token = data.pop("form_token")
        data["bot_check_reason"] = botcheck.bot_check_reason(
            honeypot=data.pop("homepage"), form_age=token and token.age
        )
        data["form_nonce"] = token and token.nonce
        return data

    def validate_parent(self, parent_id):
        if parent_id is None:
            return None
        parent = (
            Comment.objects.published()
            .filter(pk=parent_id, article=self.context["article"])
            .first()
        )
        if parent is None:
            raise serializers.ValidationError("No published comment with this id on this article.")
        if parent.depth >= settings.REPLYGUARD_MAX_REPLY_DEPTH:
            raise serializers.ValidationError(
                f"Replies nest at most {settings.REPLYGUARD_MAX_REPLY_DEPTH} levels deep: "
                "reply higher up the thread."
            )
        return parent


def choices_error(choices) -> dict:
    """DRF's message echoes the value sent ('"x" is not a valid choice.'): name the choices."""
    return {"invalid_choice": f"Choose one of: {', '.join(str(c) for c in choices)}."}


class CommentListQuery(serializers.Serializer):
    order = serializers.ChoiceField(
        choices=["oldest", "newest"],
        default="oldest",
        help_text="Order of the threads.",
        error_messages=choices_error(["oldest", "newest"]),
    )


class PublicWriteThrottle(FailOpenThrottle, ScopedRateThrottle, SlidingWindowThrottle):
    """Per client IP, one rate per kind of write (the view's throttle_scope). Fails open while
    the cache is down (flood control, in the database, still holds)."""

    def get_ident(self, request):
        # One poster: an IPv6 client by its /64, as flood control counts it.
        return poster_network(client_ip(request)) or "unknown"

    def get_rate(self):
        # Settings, read per request, so tests and benchmarks can tune them.
        return {
            "comment_post": settings.REPLYGUARD_RATE_COMMENT_POST,
            "report_post": settings.REPLYGUARD_RATE_REPORT_POST,
            "draft_check": settings.REPLYGUARD_RATE_DRAFT_CHECK,
        }[self.scope]


NO_ARTICLE = {"article": ["No article with this slug."]}


def article_or_404(slug: str) -> Article:
    # Its body (the article's text, kilobytes) is not needed to list or take comments.
    article = Article.objects.defer("body").filter(slug=slug).first()
    if article is None:
        raise NotFound(NO_ARTICLE)
    return article


def article_to_post_to(slug: str) -> Article:
    """The article a comment is posted to: from the cache (moderation.cache), else
    from the database (its query was a sixth of a POST)."""
    article = cache.cached_article(slug)
    if article is None:
        article = article_or_404(slug)
        cache.article_remember(article)
    return article


class ThreadPagination(PagePagination):
    """A page of threads, with how many published comments the article has in all (replies
    included): what a reader expects to read as "12 Comments"."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["comments"] = self.comments
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["comments"] = {
            "type": "integer",
            "description": "Published comments on the article, replies included.",
        }
        return schema


class ArticleCommentsApi(generics.ListAPIView):
    serializer_class = PublicComment
    pagination_class = ThreadPagination
    throttle_scope = "comment_post"

    def get_throttles(self):
        # Reading is free; every write is rate-limited per client IP (429 with Retry-After).
        return [PublicWriteThrottle()] if self.request.method == "POST" else []

    @cached_property
    def article(self) -> Article:
        return article_to_post_to(self.kwargs["slug"])

    @cached_property
    def thread(self) -> cache.ThreadVersion:
        version = cache.thread_version(self.kwargs["slug"])
        if version is None:
            raise NotFound(NO_ARTICLE)
        return version

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        query = CommentListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        newest_first = query.validated_data["order"] == "newest"
        return (
            Comment.objects.published()
            .filter(article_id=self.thread.pk, parent=None)
            .order_by(*(["-created_at", "-id"] if newest_first else ["created_at", "id"]))
        )

    def paginate_queryset(self, queryset):
        threads = super().paginate_queryset(queryset)
        attach_published_replies(threads)
        published = Comment.objects.published().filter(article_id=self.thread.pk)
        self.paginator.comments = published.count()
        return threads

    @extend_schema(
        summary="Published comments of an article, as threads",
        parameters=[CommentListQuery],
        responses={200: PublicComment(many=True), 400: ERRORS, 404: ERRORS},
    )
    def get(self, request, slug):
        def render() -> bytes:
            return JSONRenderer().render(self.list(request).data)

        return thread_page_response(request, self.thread, render)

    @extend_schema(
        summary="Post a comment or a reply",
        description="The comment is saved as pending and published only after the spam check "
        "(or a moderator) clears it: poll the thread to see it appear.",
        request=CommentInput,
        responses={
            202: CommentAccepted,
            400: OpenApiResponse(ERRORS, description="Invalid fields, each named."),
            403: OpenApiResponse(ERRORS, description="Comments are closed on this article."),
            404: OpenApiResponse(ERRORS, description="No article with this slug."),
            409: OpenApiResponse(ERRORS, description="The same author posted this text already."),
            413: OpenApiResponse(DETAIL, description="The request body is too large."),
            429: OpenApiResponse(
                DETAIL,
                description="Too many comments from this address or email: see Retry-After.",
            ),
        },
    )
    def post(self, request, slug):
        serializer = CommentInput(data=request.data, context={"article": self.article})
        serializer.is_valid(raise_exception=True)
        comment = comment_create(
            article=self.article,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            **serializer.validated_data,
        )
        # A comment filed as spam by the bot check is answered as pending, like any other.
        return Response(
            CommentAccepted(comment).data,
            status=status.HTTP_202_ACCEPTED,
        )

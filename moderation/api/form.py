"""/api/articles/<slug>/comment-form/ and /comment-draft/: what the comment form needs when it
loads, and, before posting, whether the reader's text reads as abusive, so the widget can ask
them once whether they want to rephrase. The draft is not stored or logged and no score is
shown: the answer is only "ask" or not. Off unless the article (or the site) turns it on."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import DETAIL, ERRORS
from moderation import botcheck
from moderation.api.threads import CommentBody, PublicWriteThrottle, article_or_404
from moderation.policy import draft_reads_abusive


class CommentForm(serializers.Serializer):
    form_token = serializers.CharField(help_text="Send back with the comment as `form_token`.")
    honeypot_field = serializers.CharField(
        help_text="The name of the field to hide from readers and leave empty."
    )
    min_seconds = serializers.FloatField(
        help_text="A comment sent sooner than this after the form loaded is treated as a bot's."
    )
    comments_open = serializers.BooleanField(help_text="Whether a comment posted now is taken.")
    max_reply_depth = serializers.IntegerField(
        help_text="Replies nest this deep at most: offer no Reply below it (top level is 0)."
    )
    body_max_length = serializers.IntegerField(help_text="The longest comment text taken.")
    ask_before_posting = serializers.BooleanField(
        help_text="Whether to send the text to comment-draft/ first, and if it reads as "
        "abusive, ask the reader once whether they want to rephrase (never blocking)."
    )


class CommentFormApi(APIView):
    @extend_schema(
        summary="What the comment form needs when it loads",
        responses={200: CommentForm, 404: ERRORS},
    )
    def get(self, request, slug):
        article = article_or_404(slug)
        form = {
            "form_token": botcheck.form_token_issue(article_slug=slug),
            "honeypot_field": botcheck.HONEYPOT_FIELD,
            "min_seconds": settings.REPLYGUARD_MIN_SUBMIT_SECONDS,
            "comments_open": article.accepts_comments(),
            "max_reply_depth": settings.REPLYGUARD_MAX_REPLY_DEPTH,
            "body_max_length": settings.REPLYGUARD_BODY_MAX_LENGTH,
            "ask_before_posting": article.asks_before_posting(),
        }
        return Response(form, headers={"Cache-Control": "no-store"})


class DraftInput(serializers.Serializer):
    body = CommentBody(help_text="The comment as the reader has written it so far.")


class DraftAdvice(serializers.Serializer):
    rephrase = serializers.BooleanField(
        help_text="True: it reads as abusive; ask the reader, once, whether they want to "
        "rephrase. Never a reason to refuse the comment."
    )


class CommentDraftApi(APIView):
    throttle_classes = [PublicWriteThrottle]
    throttle_scope = "draft_check"

    @extend_schema(
        summary="Whether a draft reads as abusive (nothing is stored)",
        request=DraftInput,
        responses={
            200: DraftAdvice,
            400: OpenApiResponse(ERRORS, description="Invalid fields, each named."),
            403: OpenApiResponse(ERRORS, description="This article does not check drafts."),
            404: OpenApiResponse(ERRORS, description="No article with this slug."),
            429: OpenApiResponse(DETAIL, description="Too many checks: see Retry-After."),
        },
    )
    def post(self, request, slug):
        article = article_or_404(slug)
        if not article.asks_before_posting():
            raise PermissionDenied({"article": ["This article does not check drafts."]})
        draft = DraftInput(data=request.data)
        draft.is_valid(raise_exception=True)
        rephrase = draft_reads_abusive(article=article, body=draft.validated_data["body"])
        return Response({"rephrase": rephrase}, headers={"Cache-Control": "no-store"})

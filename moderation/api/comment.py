"""/api/comments/<id>/…: what became of a comment, for the holder of its receipt, and a
reader's report of a published comment."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import DETAIL, ERRORS, client_ip
from moderation.api.threads import AuthorsComment, PublicWriteThrottle, choices_error
from moderation.models import Comment, Report
from moderation.receipts import comment_for_receipt
from moderation.reports import comment_report


class ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=Report.Reason.choices, error_messages=choices_error(Report.Reason.values)
    )
    email = serializers.EmailField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional and private: only used to count one report per reader.",
    )


class ReportReceived(serializers.Serializer):
    status = serializers.CharField(default="received")


class ReceiptQuery(serializers.Serializer):
    receipt = serializers.CharField(
        max_length=64, help_text="The receipt the comment's POST answered with."
    )


class AuthorsCommentApi(APIView):
    @extend_schema(
        summary="What became of my comment (for the holder of its receipt)",
        parameters=[ReceiptQuery],
        responses={200: AuthorsComment, 404: ERRORS},
    )
    def get(self, request, comment_id):
        comment = comment_for_receipt(comment_id, request.query_params.get("receipt", ""))
        if comment is None:  # a wrong receipt says no more than a missing comment
            raise NotFound({"comment": ["No comment with this id and receipt."]})
        return Response(AuthorsComment(comment).data, headers={"Cache-Control": "no-store"})


class CommentReportApi(APIView):
    throttle_classes = [PublicWriteThrottle]
    throttle_scope = "report_post"

    @extend_schema(
        summary="Report a published comment to the moderators",
        request=ReportInput,
        responses={
            202: ReportReceived,
            400: OpenApiResponse(ERRORS, description="Invalid fields, each named."),
            404: OpenApiResponse(ERRORS, description="No published comment with this id."),
            409: OpenApiResponse(ERRORS, description="This reader's network reported it already."),
            413: OpenApiResponse(DETAIL, description="The request body is too large."),
            429: OpenApiResponse(DETAIL, description="Too many reports: see Retry-After."),
        },
    )
    def post(self, request, comment_id):
        comment = Comment.objects.published().filter(pk=comment_id).first()
        if comment is None:
            raise NotFound({"comment": ["No published comment with this id."]})
        serializer = ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment_report(comment=comment, ip_address=client_ip(request), **serializer.validated_data)
        return Response({"status": "received"}, status=status.HTTP_202_ACCEPTED)

"""The moderator's tools. Every decision goes through services.comment_decide, like the worker's."""

from django.contrib import admin, messages
from django.db import models
from django.http import JsonResponse
from django.template.defaultfilters import truncatechars

from moderation.models import AuthorDataRequest, Comment, Decision, Report
from moderation.privacy import author_erase, author_export
from moderation.services import comment_decide

Status = Comment.Status


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    fields = ["created_at", "decided_by", "from_status", "to_status", "spam_score", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ["created_at", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def decide_selected(status: str, description: str):
    """An admin action that moves each selected comment to `status` via comment_decide."""

    @admin.action(description=description, permissions=["moderate"])
    def action(modeladmin, request, queryset):
        changed = sum(
            comment_decide(
                comment=comment, status=status, decided_by=request.user, reason="Moderator."
            )
            for comment in queryset
        )
        modeladmin.message_user(
            request, f"{changed} of {len(queryset)} comment(s) now {status}.", messages.SUCCESS
        )

    action.__name__ = f"mark_{status}"
    return action


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "short_body",
        "author_name",
        "article",
        "status",
        "spam_score",
        "why",
        "model_version",
        "created_at",
    ]
    list_filter = ["status", "article"]
    search_fields = ["body", "author_name", "author_email"]
    list_select_related = ["article"]
    date_hierarchy = "created_at"
    actions = [
        decide_selected(Status.PUBLISHED, "Publish selected comments"),
        decide_selected(Status.HELD, "Hold selected comments for review"),
        decide_selected(Status.SPAM, "Mark selected comments as spam"),
        decide_selected(Status.REJECTED, "Reject selected comments"),
        "export_authors_data",
        "erase_authors",
    ]
    inlines = [DecisionInline, ReportInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Status changes only through the actions above, so each one leaves an audit record.
    readonly_fields = [
        "article",
        "parent",
        "thread",
        "status",
        "spam_score",
        "why",
        "model_version",
        "created_at",
        "decided_at",
        "published_at",
        "ip_address",
        "user_agent",
    ]
    fieldsets = [
        (None, {"fields": ["article", "parent", "body"]}),
        (
            "Author (email, IP and user agent are private)",
            {
                "fields": ["author_name", "author_email", "author_url", "ip_address", "user_agent"],
            },
        ),
        (
            "Moderation",
            {
                "fields": [
                    "status",
                    "spam_score",
                    "why",
                    "model_version",
                    "created_at",
                    "decided_at",
                    "published_at",
                ],
            },
        ),
    ]

    @admin.action(
        description="Export the selected comments' authors' data (JSON)", permissions=["change"]
    )
    def export_authors_data(self, request, queryset):
        emails = sorted({c.author_email for c in queryset if c.author_email})
        exports = [author_export(email=email, done_by=request.user) for email in emails]
        response = JsonResponse(exports, safe=False, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = 'attachment; filename="author-data.json"'
        return response

    @admin.action(
        description="Erase the selected comments' authors (keeps the text)", permissions=["change"]
    )
    def erase_authors(self, request, queryset):
        emails = {c.author_email for c in queryset if c.author_email}
        count = sum(author_erase(email=email, done_by=request.user) for email in emails)
        self.message_user(request, f"Erased {len(emails)} author(s) from {count} comment(s).")

    @admin.display(description="comment")
    def short_body(self, comment):
        return truncatechars(comment.body, 80)

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")

    @admin.display(description="why (model)")
    def why(self, comment):
        return "; ".join(comment.spam_reasons) or "—"

    def has_add_permission(self, request):
        return False  # comments come from readers, through the API


class AuditRecordAdmin(admin.ModelAdmin):
    """Audit records are written by the services alone: nobody adds, edits or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Decision)
class DecisionAdmin(AuditRecordAdmin):
    list_display = ["created_at", "comment", "decided_by", "from_status", "to_status", "reason"]
    list_filter = ["to_status", "decided_by"]
    list_select_related = ["comment", "decided_by"]
    date_hierarchy = "created_at"


@admin.register(AuthorDataRequest)
class AuthorDataRequestAdmin(AuditRecordAdmin):
    list_display = ["created_at", "kind", "comments", "bodies_removed", "done_by"]
    list_filter = ["kind"]
    search_fields = ["email_sha256"]

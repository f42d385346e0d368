"""Comments and the moderation queue: one-click and bulk decisions, reasons, history."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from moderation import wording
from moderation.admin.base import ModeratorActions, StormBanner, moderator_action
from moderation.models import Cause, Comment, Decision, HeldComment, Report
from moderation.privacy import author_erase, author_export
from moderation.rules import authors_standing
from moderation.services import (
    campaign_members_remove,
    comment_decide,
    comment_edit,
    comments_decide,
    comments_delete,
)
from moderation.wording import percent, who_decided

Status = Comment.Status


class DecisionInline(admin.TabularInline):
    """The comment's decisions, newest first."""

    model = Decision
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "who", "from_status", "to_status", "score", "reason"]
    readonly_fields = fields

    @admin.display(description="decided by")
    def who(self, decision):
        return who_decided(decision)

    @admin.display(description="score")
    def score(self, decision):
        return percent(decision.spam_score)

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


# What a moderator can decide, as (status, label, reason recorded in the audit trail).
DECISIONS = {
    "publish": (Status.PUBLISHED, "Publish (not spam)", "Published by a moderator."),
    "spam": (Status.SPAM, "Mark as spam", "Marked as spam by a moderator."),
    "abusive": (Status.REJECTED, "Reject: abusive", "Rejected by a moderator: abusive."),
    "off_topic": (Status.REJECTED, "Reject: off-topic", "Rejected by a moderator: off-topic."),
    "other": (Status.REJECTED, "Reject: other", "Rejected by a moderator: other reason."),
    "hold": (Status.HELD, "Hold for review", "Held by a moderator."),
}
ONE_CLICK = ["publish", "spam", "abusive"]  # the buttons on each row; the rest are bulk actions
# The cause a decision records, where it says more than "moderator": a comment rejected as
# abusive is a label for the next abuse model (train_abuse_model).
DECISION_CAUSES = {"abusive": Cause.ABUSE}


def marked(body: str, words: list, begin: int, end: int) -> str:
    """body[begin:end] (… where cut), escaped, with each [start, end] of `words` in <mark>."""
    parts, at = [], begin
    for start, stop in sorted(words or []):
        if start < at or stop > end:
            continue
        parts += [escape(body[at:start]), format_html("<mark>{}</mark>", body[start:stop])]
        at = stop
    parts.append(escape(body[at:end]))
    cut = ("…" if begin else "", "…" if end < len(body) else "")
    return mark_safe(cut[0] + "".join(parts) + cut[1])  # every part escaped above


def moderator_decides(request, comments, decision: str) -> int:
    """Apply one of DECISIONS to these comments; how many changed. One comment is a decision
    on it (comment_decide, which teaches its link domains); a selection is a bulk one."""
    status, _, reason = DECISIONS[decision]
    decided = {"status": status, "decided_by": request.user, "reason": reason}
    decided["cause"] = DECISION_CAUSES.get(decision, Cause.MODERATOR)
    if len(comments) == 1:
        return int(comment_decide(comment=comments[0], **decided))
    return comments_decide(comments=comments, **decided)


def decide_selected(decision: str):
    """A bulk admin action for one of DECISIONS."""
    label = DECISIONS[decision][1]

    @moderator_action(f"decide_{decision}", f"{label} (selected comments)")
    def action(modeladmin, request, queryset):
        changed = moderator_decides(request, list(queryset), decision)
        return f"{label}: {changed} of {len(queryset)} comment(s) changed."

    return action


class CauseFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "cause"

    def lookups(self, request, model_admin):
        return Cause.choices

    def queryset(self, request, queryset):
        return queryset.filter(cause=self.value()) if self.value() else queryset


@admin.register(Comment)
class CommentAdmin(ModeratorActions, StormBanner, admin.ModelAdmin):
    list_display = [
        "short_body",
        "author_name",
        "article",
        "status",
        "score",
        "why",
        "created_at",
        "decide_buttons",
    ]
    list_filter = ["status", CauseFilter, "article", "created_at"]
    search_fields = ["body", "author_name", "author_email"]
    list_select_related = ["article", "parent"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    actions = [
        *(decide_selected(decision) for decision in DECISIONS),
        "remove_from_campaign",
        "export_authors_data",
        "erase_authors",
    ]
    inlines = [DecisionInline, ReportInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Status changes only through the decisions above, so each one leaves an audit record.
    readonly_fields = [
        "article",
        "parent",
        "thread",
        "status",
        "decide_buttons",
        "score",
        "why",
        "abuse_marked",
        "model_version",
        "author_history",
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
                "fields": [
                    "author_name",
                    "author_email",
                    "author_url",
                    "author_history",
                    "ip_address",
                    "user_agent",
                ],
            },
        ),
        (
            "Moderation",
            {
                "fields": [
                    "status",
                    "decide_buttons",
                    "score",
                    "why",
                    "abuse_marked",
                    "model_version",
                    "created_at",
                    "decided_at",
                    "published_at",
                ],
            },
        ),
    ]

    def get_urls(self):
        decide_url = path(
            "<int:comment_id>/decide/<str:decision>/",
            self.admin_site.admin_view(self.decide_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_decide",
        )
        return [decide_url, *super().get_urls()]

    def decide_view(self, request, comment_id, decision):
        """One click on a row's or a comment page's button (a POST carrying the page's CSRF
        token), then back to where the moderator was."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if decision not in DECISIONS:
            raise Http404("No such decision.")
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        comment = get_object_or_404(Comment, pk=comment_id)
        label = DECISIONS[decision][1]
        if moderator_decides(request, [comment], decision):
            self.message_user(request, f"#{comment.pk}: {label}.", messages.SUCCESS)
        else:
            self.message_user(request, f"#{comment.pk} was already {comment.status}.")
        back = request.headers.get("Referer", "")  # sent for same-origin pages by default
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        return redirect(back)

    # A moderator's edit or deletion goes through the services, which keep readers' threads
    # current. (Comments are only added through the API: has_add_permission is off.)
    def save_model(self, request, obj, form, change):
        comment_edit(comment=obj, fields=form.changed_data)

    def delete_model(self, request, obj):
        comments_delete(Comment.objects.filter(pk=obj.pk))

    @admin.display(description="decide")
    def decide_buttons(self, comment):
        if comment.pk is None:
            return "—"
        return format_html_join(
            " ",
            '<button type="submit" class="button" formmethod="post" formnovalidate '
            'formaction="{}" data-decision="{}">{}</button>',
            (
                (
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_decide",
                        args=[comment.pk, decision],
                    ),
                    decision,
                    DECISIONS[decision][1].split(" (")[0],
                )
                for decision in ONE_CLICK
                if DECISIONS[decision][0] != comment.status
            ),
        )

    @admin.action(description="Take out of its campaign", permissions=["moderate"])
    def remove_from_campaign(self, request, queryset):
        taken = campaign_members_remove(queryset)
        self.message_user(request, f"{taken} comment(s) taken out of their campaigns.")

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
        # Around the first word that made its abuse score, if any, with those words marked.
        first = min((start for start, _ in comment.abuse_words or []), default=0)
        begin = max(0, first - 30) if first > 50 else 0
        body = marked(comment.body, comment.abuse_words, begin, begin + 80)
        if comment.parent_id:
            return format_html("↳ {}: {}", comment.parent.author_name, body)
        return body

    @admin.display(description="the words that made its abuse score")
    def abuse_marked(self, comment):
        if not comment.abuse_words:
            return "—"
        return format_html(
            "{} <p>(abuse probability {})</p>",
            marked(comment.body, comment.abuse_words, 0, len(comment.body)),
            percent(comment.abuse_score),
        )

    def get_actions(self, request):
        # Deleting is not a moderation decision: it is on a comment's own page, away from these.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="spam score", ordering="spam_score")
    def score(self, comment):
        return percent(comment.spam_score)

    @admin.display(description="why")
    def why(self, comment):
        return wording.why(comment)

    @admin.display(description="author's history")
    def author_history(self, comment):
        if not comment.author_email:
            return "— (erased)"
        standing = getattr(comment, "author_standing", None)
        if standing is None:  # a single comment's page: count here
            standing = authors_standing(emails={comment.author_email})[comment.author_email]
        return f"{standing.published} published / {standing.rejected} rejected"

    def has_add_permission(self, request):
        return False  # comments come from readers, through the API


@admin.register(HeldComment)
class ModerationQueueAdmin(CommentAdmin):
    """Held comments only, what to look at next on top, with everything needed to decide."""

    # What a decision needs, and no more, so it fits 1,440 px with the sidebar open; the
    # comment's page has the rest. No column sorts: the queue has one order (get_queryset).
    list_display = [
        "short_body",
        "why",
        "score",
        "reports",
        "author_history",
        "article_title",
        "decide_buttons",
    ]
    list_display_links = ["short_body"]
    sortable_by = ()
    list_filter = [CauseFilter, "article", "created_at"]
    list_per_page = 50
    show_full_result_count = False  # one count of the held comments per page, not two

    class Media:
        js = ["moderation/queue-keys.js"]
        css = {"all": ["moderation/queue-keys.css"]}

    def get_queryset(self, request):
        return self.model.objects.queue()

    def get_ordering(self, request):
        # The admin re-orders what get_queryset gives it: by the queue's own order.
        return self.model.objects.queue().query.order_by

    def get_changelist(self, request, **kwargs):
        return QueuePage

    def changelist_view(self, request, extra_context=None):
        title = "Moderation queue: most reported and least certain first"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="reports", ordering="report_count")
    def reports(self, comment):
        return comment.report_count

    @admin.display(description="article", ordering="article__title")
    def article_title(self, comment):
        return truncatechars(comment.article.title, 40)


class QueuePage(ChangeList):
    """The queue's list, with the author history of the comments shown counted in one query
    for the page: as a subquery per row, the admin's counts ran it for every held comment
    (1.3 s with 10,000 held)."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        standing = authors_standing(emails={c.author_email for c in self.result_list})
        for comment in self.result_list:
            comment.author_standing = standing[comment.author_email]

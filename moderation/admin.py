"""The moderator's tools. Every decision goes through services.comment_decide, like the worker's."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Max, Min
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from moderation import shadow, storms, words
from moderation.external import (
    external_checks_label,
    external_site_labels_drop,
    site_key_create,
)
from moderation.models import (
    AuthorDataRequest,
    Campaign,
    Cause,
    Comment,
    Decision,
    ExternalCheck,
    HeldComment,
    HeldDigest,
    LinkDomain,
    Report,
    ShadowScore,
    SiteKey,
    StormSwitch,
    WordRule,
)
from moderation.privacy import author_erase, author_export
from moderation.rules import authors_standing
from moderation.services import (
    CAMPAIGN_DECISIONS,
    campaign_decide,
    campaign_members_left,
    campaign_members_remove,
    comment_decide,
    comment_edit,
    comments_decide,
    comments_delete,
)
from moderation.words import decider, percent

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
        return decider(decision)

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


def decide(request, comments, decision: str) -> int:
    """Apply one of DECISIONS to these comments; how many changed. One comment is a decision
    on it (comment_decide, which teaches its link domains); a selection is a bulk one."""
    status, _, reason = DECISIONS[decision]
    if len(comments) == 1:
        decided = comment_decide(
            comment=comments[0], status=status, decided_by=request.user, reason=reason
        )
        return int(decided)
    return comments_decide(comments=comments, status=status, decided_by=request.user, reason=reason)


def decide_selected(decision: str):
    """A bulk admin action for one of DECISIONS."""
    label = DECISIONS[decision][1]

    @admin.action(description=f"{label} (selected comments)", permissions=["moderate"])
    def action(modeladmin, request, queryset):
        changed = decide(request, list(queryset), decision)
        modeladmin.message_user(
            request, f"{label}: {changed} of {len(queryset)} comment(s) changed.", messages.SUCCESS
        )

    action.__name__ = f"decide_{decision}"
    return action


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "cause"

    def lookups(self, request, model_admin):
        return Cause.choices

    def queryset(self, request, queryset):
        return queryset.filter(cause=self.value()) if self.value() else queryset


class StormBanner:
    """A banner over the list while any article is in storm mode (moderation.storms)."""

    def changelist_view(self, request, extra_context=None):
        for article in storms.articles_in_storm():
            until = article.storm_until and f" until {article.storm_until:%H:%M} UTC" or ""
            messages.warning(
                request,
                f"Storm mode on {article.title}: every new comment waits for a moderator{until}"
                f"{' (pinned)' if article.storm_pin else ''}. Why: {storms.storm_why(article)}",
            )
        return super().changelist_view(request, extra_context)


@admin.register(Comment)
class CommentAdmin(StormBanner, admin.ModelAdmin):
    list_display = [
        "short_body",
        "author_name",
        "article",
        "status",
        "score",
        "cause_and_reasons",
        "created_at",
        "decide_buttons",
    ]
    list_filter = ["status", ReasonFilter, "article", "created_at"]
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
        "cause_and_reasons",
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
                    "cause_and_reasons",
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
        if decide(request, [comment], decision):
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
        body = truncatechars(comment.body, 80)
        return f"↳ {comment.parent.author_name}: {body}" if comment.parent_id else body

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")

    def get_actions(self, request):
        # Deleting is not a moderation decision: it is on a comment's own page, away from these.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="spam score", ordering="spam_score")
    def score(self, comment):
        return percent(comment.spam_score)

    @admin.display(description="why")
    def cause_and_reasons(self, comment):
        return words.why(comment)

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
        "cause_and_reasons",
        "score",
        "report_count",
        "author_history",
        "article_title",
        "decide_buttons",
    ]
    list_display_links = ["short_body"]
    sortable_by = ()
    list_filter = [ReasonFilter, "article", "created_at"]
    list_per_page = 50

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

    @admin.display(description="reports", ordering="reports_total")
    def report_count(self, comment):
        return comment.reports_total

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
    list_display = ["created_at", "comment", "who", "from_status", "to_status", "score", "reason"]
    list_filter = ["to_status", "decided_by"]

    @admin.display(description="decided by")
    def who(self, decision):
        return decider(decision)

    @admin.display(description="score", ordering="spam_score")
    def score(self, decision):
        return percent(decision.spam_score)

    list_select_related = ["comment", "decided_by"]
    date_hierarchy = "created_at"


@admin.register(AuthorDataRequest)
class AuthorDataRequestAdmin(AuditRecordAdmin):
    list_display = ["created_at", "kind", "comments", "bodies_removed", "done_by"]
    list_filter = ["kind"]
    search_fields = ["email_sha256"]


@admin.register(HeldDigest)
class HeldDigestAdmin(AuditRecordAdmin):
    list_display = ["sent_at", "recipient", "comments", "held_until"]
    list_filter = ["recipient"]


@admin.register(WordRule)
class WordRuleAdmin(admin.ModelAdmin):
    """Suspect (hold) and banned (reject) words, matched as whole words before the model runs."""

    list_display = ["phrase", "action", "enabled", "note", "created_at"]
    list_filter = ["action", "enabled"]
    list_editable = ["action", "enabled"]
    search_fields = ["phrase", "note"]


@admin.register(LinkDomain)
class LinkDomainAdmin(admin.ModelAdmin):
    """Trusted sources (read as such by the model, not counted toward the link limit) and
    blocked domains (filed as spam). A person's edit is final: learning never overrides it."""

    list_display = ["domain", "reputation", "source", "published", "binned", "note", "updated_at"]
    list_filter = ["reputation", "source"]
    list_editable = ["reputation"]
    search_fields = ["domain", "note"]
    readonly_fields = ["source", "published", "binned", "updated_at"]

    def save_model(self, request, obj, form, change):
        obj.domain = obj.domain.strip().lower().removeprefix("www.")
        obj.source = LinkDomain.Source.STAFF
        super().save_model(request, obj, form, change)


# --- Shadow mode: a candidate model's scores beside what was decided ---------------------------


class DisagreementFilter(admin.SimpleListFilter):
    title = "agreement"
    parameter_name = "disagree"

    def lookups(self, request, model_admin):
        return [("yes", "Disagreements only")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(status=models.F("active_status"))
        return queryset


@admin.register(ShadowScore)
class ShadowScoreAdmin(AuditRecordAdmin):
    """What the candidate in shadow mode would have decided, with the report a moderator reads
    before activating it. Rows are written by the scoring worker alone."""

    list_display = [
        "created_at",
        "comment_link",
        "short_body",
        "active_percent",
        "active_status",
        "candidate_percent",
        "status",
        "agrees",
    ]
    list_filter = ["model_version", DisagreementFilter]
    list_select_related = ["comment"]

    def get_urls(self):
        activate_url = path(
            "activate/",
            self.admin_site.admin_view(self.activate_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_activate",
        )
        return [activate_url, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        version = shadow.shadow_version(settings.REPLYGUARD_MODEL_DIR)
        report = shadow.shadow_report(version) if version else None
        context = {
            "shadow_report": report,
            "agreement": percent(report["agreement"], most=100) if report else None,
            "can_activate": request.user.is_superuser,
        }
        return super().changelist_view(request, context | (extra_context or {}))

    def activate_view(self, request):
        """Activate the candidate the page showed (a POST with the page's CSRF token).
        Superusers only: which model decides comments is an operator's call."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.is_superuser:
            raise PermissionDenied
        version = request.POST.get("version", "")
        try:
            shadow.shadow_activate(settings.REPLYGUARD_MODEL_DIR, version)
        except shadow.UnusableCandidateError as error:
            self.message_user(request, f"Not activated: {error}", messages.ERROR)
        else:
            message = f"Activated spam model {version}; shadow mode is off."
            self.message_user(request, message, messages.SUCCESS)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    @admin.display(description="comment", ordering="comment")
    def comment_link(self, score):
        url = reverse("admin:moderation_comment_change", args=[score.comment_id])
        return format_html('<a href="{}">#{}</a>', url, score.comment_id)

    @admin.display(description="body")
    def short_body(self, score):
        return truncatechars(score.comment.body, 80)

    @admin.display(description="active score", ordering="active_score")
    def active_percent(self, score):
        return percent(score.active_score)

    @admin.display(description="candidate score", ordering="spam_score")
    def candidate_percent(self, score):
        return percent(score.spam_score)

    @admin.display(description="agrees", boolean=True)
    def agrees(self, score):
        return score.agrees


@admin.register(SiteKey)
class SiteKeyAdmin(admin.ModelAdmin):
    """Other sites' keys to the Akismet-compatible API. The key is shown once, when it is made."""

    list_display = [
        "name", "key_hint", "active", "created_at", "last_used", "checks_counted", "labels_given",
    ]  # fmt: skip
    list_filter = ["active"]
    search_fields = ["name", "blogs"]
    readonly_fields = ["key_hint", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(checks_total=Count("checks"), last_check_at=Max("checks__created_at"))
        )

    @admin.display(description="Last used", ordering="last_check_at")
    def last_used(self, site):
        return site.last_check_at

    @admin.display(description="Checks", ordering="checks_total")
    def checks_counted(self, site):
        return site.checks_total

    @admin.display(description="Its labels (training)")
    def labels_given(self, site):
        listed = reverse("admin:moderation_externalcheck_changelist")
        return format_html(
            '<a href="{}?site__id__exact={}&label_source__exact=site">see, correct or drop</a>',
            listed, site.pk,
        )  # fmt: skip

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        site, key = site_key_create(name=obj.name, blogs=obj.blogs.split(), active=obj.active)
        obj.pk, obj.key_hint = site.pk, site.key_hint
        messages.warning(
            request,
            f"The key for {site.name} is {key} — copy it now: it is stored hashed and "
            "will not be shown again.",
        )

    def has_delete_permission(self, request, obj=None):
        return False  # its checks keep their site: deactivate a key instead


def label_selected(label: str):
    def action(modeladmin, request, queryset):
        count = external_checks_label(queryset, label=label, moderator=request.user)
        modeladmin.message_user(request, f"{count} check(s) labelled {label}.", messages.SUCCESS)

    action.__name__ = f"label_{label}"
    action.short_description = f"Correct: {ExternalCheck.Label(label).label.lower()} (a label)"
    action.allowed_permissions = ["moderate"]
    return action


@admin.register(ExternalCheck)
class ExternalCheckAdmin(admin.ModelAdmin):
    """What other sites asked about and how it was answered. A moderator's correction is a
    training label, as a site's submit-spam / submit-ham is, and wins over it."""

    list_display = [
        "created_at",
        "site",
        "comment",
        "answer",
        "score",
        "why",
        "label",
        "label_source",
    ]
    list_filter = ["site", "spam", "discard", "label", "label_source", "is_test", "cause"]
    list_select_related = ["site"]
    search_fields = ["guid", "author_name", "body"]
    date_hierarchy = "created_at"
    actions = [
        label_selected(ExternalCheck.Label.SPAM),
        label_selected(ExternalCheck.Label.HAM),
        "drop_site_labels",
    ]
    exclude = ["ip_address", "poster_network", "user_agent", "author_email"]

    @admin.action(description="Drop the site's label (no longer a training label)",
                  permissions=["moderate"])  # fmt: skip
    def drop_site_labels(self, request, queryset):
        dropped = external_site_labels_drop(queryset)
        self.message_user(request, f"{dropped} site label(s) dropped.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only; corrections go through the actions

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")

    @admin.display(description="Comment")
    def comment(self, check):
        return truncatechars(f"{check.author_name}: {check.body}", 90)

    @admin.display(description="Answer", ordering="spam")
    def answer(self, check):
        if check.spam is None:
            return "— (reported only)"
        return ("spam, discard" if check.discard else "spam") if check.spam else "not spam"

    @admin.display(description="Score", ordering="spam_score")
    def score(self, check):
        return percent(check.spam_score)

    @admin.display(description="Why")
    def why(self, check):
        return words.why(check)


def campaign_action(state: str, label: str):
    """A whole-campaign decision, after a page that lists every member: those it changes,
    and those it leaves for the moderator, with why (services.campaign_members_left)."""

    @admin.action(description=f"{label} (whole campaigns)", permissions=["moderate"])
    def action(modeladmin, request, queryset):
        if request.POST.get("confirmed") != "yes":
            return modeladmin.decision_confirmation(request, queryset, state, label)
        decided = [
            campaign_decide(campaign=campaign, state=state, decided_by=request.user)
            for campaign in queryset
        ]
        left = sum(d.left for d in decided)
        modeladmin.message_user(
            request,
            f"{label}: {len(queryset)} campaign(s), {sum(d.changed for d in decided)} "
            "comment(s) changed"
            + (f"; {left} left for you to decide (see each campaign's page)." if left else "."),
            messages.SUCCESS,
        )

    action.__name__ = f"campaign_{state}"
    return action


@admin.register(Campaign)
class CampaignAdmin(StormBanner, admin.ModelAdmin):
    """Spam waves, decided whole: each action moves every comment of the campaign through the
    one decision path (an audit record each) and tells the worker what to do with new ones."""

    list_display = ["__str__", "state", "size", "authors", "first_seen", "last_seen", "touched"]
    list_filter = ["state"]
    readonly_fields = [
        "shared", "state", "size", "authors", "first_seen", "last_seen", "touched",
        "decided_by", "decided_at", "members", "left_apart", "samples",
    ]  # fmt: skip
    fields = readonly_fields
    actions = [
        campaign_action(Campaign.State.BINNED, "Bin"),
        campaign_action(Campaign.State.HELD, "Hold"),
        campaign_action(Campaign.State.PUBLISHED, "Publish (legitimate)"),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                comments_total=Count("comments"),
                authors_total=Count("comments__author_email", distinct=True),
                first_at=Min("comments__created_at"),
                last_at=Max("comments__created_at"),
                articles_total=Count("comments__article", distinct=True),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # decided through the actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")

    @admin.display(description="comments", ordering="comments_total")
    def size(self, campaign):
        return campaign.comments_total

    @admin.display(description="authors", ordering="authors_total")
    def authors(self, campaign):
        return campaign.authors_total

    @admin.display(description="first seen", ordering="first_at")
    def first_seen(self, campaign):
        return campaign.first_at

    @admin.display(description="last seen", ordering="last_at")
    def last_seen(self, campaign):
        return campaign.last_at

    @admin.display(description="articles", ordering="articles_total")
    def touched(self, campaign):
        titles = (
            campaign.comments.order_by().values_list("article__title", flat=True).distinct()[:3]
        )
        more = campaign.articles_total - len(titles)
        return "; ".join(truncatechars(t, 40) for t in titles) + (
            f" and {more} more" if more > 0 else ""
        )

    def decision_confirmation(self, request, campaigns, state: str, label: str):
        status = CAMPAIGN_DECISIONS[state]
        shown = []
        for campaign in campaigns:
            left = {comment.pk: why for comment, why in campaign_members_left(campaign, status)}
            members = campaign.comments.select_related("article").order_by("created_at", "pk")
            rows = [(comment, left.get(comment.pk, "")) for comment in members]
            shown.append({"campaign": campaign, "rows": rows})
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: every member of {len(shown)} campaign(s)",
            "opts": self.opts,
            "campaigns": shown,
            "action": request.POST["action"],
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "label": label,
        }
        return TemplateResponse(request, "admin/moderation/campaign/confirm_decision.html", context)

    @admin.display(description="all members")
    def members(self, campaign):
        listed = reverse("admin:moderation_comment_changelist")
        return format_html(
            '<a href="{}?campaign__id__exact={}">All {} members</a> (take any out of the '
            "campaign there: “Take out of its campaign”)",
            listed, campaign.pk, campaign.comments_total,
        )  # fmt: skip

    @admin.display(description="left for you by a Bin")
    def left_apart(self, campaign):
        left = campaign_members_left(campaign, Status.SPAM)
        if not left:
            return "none"
        rows = ((c.pk, c.author_name, c.get_status_display(), why) for c, why in left)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>#{} {} ({}): {}</li>", rows))

    @admin.display(description="sample comments")
    def samples(self, campaign):
        comments = campaign.comments.order_by("created_at")[:5]
        rows = (
            (c.author_name, c.get_status_display(), truncatechars(c.body, 160)) for c in comments
        )
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} ({}): {}</li>", rows))


@admin.register(StormSwitch)
class StormSwitchAdmin(AuditRecordAdmin):
    list_display = ["created_at", "article", "on", "reason", "switched_by"]
    list_filter = ["on", "article"]
    list_select_related = ["article", "switched_by"]

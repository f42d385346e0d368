"""The models' desk: a candidate (spam or abuse) in shadow mode, its scores beside what was
decided."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import format_html

from moderation import abuse
from moderation.admin.base import AuditRecordAdmin
from moderation.models import Comment, ShadowScore
from moderation.spam import shadow, versions
from moderation.wording import percent

Status = Comment.Status

# --- Shadow mode: a candidate model's scores beside what was decided ---------------------------


def _models() -> dict:
    """Each kind's model directory and what its artifacts must be (versions.artifact_checked)."""
    return {
        "spam": (settings.REPLYGUARD_MODEL_DIR, {}),
        "abuse": (
            settings.REPLYGUARD_ABUSE_MODEL_DIR,
            abuse.ARTIFACT,
        ),
    }


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
        "kind",
        "comment_link",
        "short_body",
        "active_percent",
        "active_status",
        "candidate_percent",
        "status",
        "agrees",
    ]
    list_filter = ["kind", "model_version", DisagreementFilter]
    list_select_related = ["comment"]

    def get_urls(self):
        activate_url = path(
            "activate/",
            self.admin_site.admin_view(self.activate_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_activate",
        )
        return [activate_url, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        reports = []
        for kind, (model_dir, _) in _models().items():
            if version := versions.shadow_version(model_dir):
                report = shadow.shadow_report(version)
                agreement = percent(report["agreement"], most=100)
                reports.append(report | {"kind": kind, "agreement_percent": agreement})
        context = {"shadow_reports": reports, "can_activate": request.user.is_superuser}
        return super().changelist_view(request, context | (extra_context or {}))

    def activate_view(self, request):
        """Activate the candidate the page showed (a POST with the page's CSRF token).
        Superusers only: which model decides comments is an operator's call."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.is_superuser:
            raise PermissionDenied
        version, kind = request.POST.get("version", ""), request.POST.get("kind", "spam")
        if kind not in _models():
            self.message_user(request, f"Not activated: no {kind!r} model.", messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        model_dir, expected = _models()[kind]
        try:
            versions.shadow_activate(model_dir, version, **expected)
        except versions.UnusableCandidateError as error:
            self.message_user(request, f"Not activated: {error}", messages.ERROR)
        else:
            message = f"Activated {kind} model {version}; shadow mode is off."
            self.message_user(request, message, messages.SUCCESS)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    @admin.display(description="comment", ordering="comment")
    def comment_link(self, score):
        url = reverse("admin:moderation_comment_change", args=[score.comment_id])
        return format_html('<a href="{}">#{}</a>', url, score.comment_id)

    @admin.display(description="body")
    def short_body(self, score):
        return truncatechars(score.comment.body, 80)

    @admin.display(description="active score")
    def active_percent(self, score):
        return percent(score.scores_compared[0])

    @admin.display(description="candidate score")
    def candidate_percent(self, score):
        return percent(score.scores_compared[1])

    @admin.display(description="agrees", boolean=True)
    def agrees(self, score):
        return score.agrees

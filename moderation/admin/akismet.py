"""The Akismet door's desk: other sites' keys, their checks and labels."""

from django.contrib import admin, messages
from django.db.models import Count, Max
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html

from moderation import wording
from moderation.admin.base import ModeratorActions, moderator_action
from moderation.akismet.checks import (
    external_checks_label,
    external_site_labels_drop,
    site_key_create,
)
from moderation.models import Comment, ExternalCheck, SiteKey
from moderation.wording import percent

Status = Comment.Status


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
    description = f"Correct: {ExternalCheck.Label(label).label.lower()} (a label)"

    @moderator_action(f"label_{label}", description)
    def action(modeladmin, request, queryset):
        count = external_checks_label(queryset, label=label, moderator=request.user)
        return f"{count} check(s) labelled {label}."

    return action


@admin.register(ExternalCheck)
class ExternalCheckAdmin(ModeratorActions, admin.ModelAdmin):
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

    @admin.display(description="why")
    def why(self, check):
        return wording.why(check)

"""Campaigns: spam waves seen and decided whole."""

from django.contrib import admin
from django.db.models import Count, Max, Min
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from moderation.admin.base import ModeratorActions, StormBanner, moderator_action
from moderation.models import Campaign, Comment
from moderation.services import CAMPAIGN_DECISIONS, campaign_decide, campaign_members_left

Status = Comment.Status


def campaign_action(state: str, label: str):
    """A whole-campaign decision, after a page that lists every member: those it changes,
    and those it leaves for the moderator, with why (services.campaign_members_left)."""

    @moderator_action(f"campaign_{state}", f"{label} (whole campaigns)")
    def action(modeladmin, request, queryset):
        if request.POST.get("confirmed") != "yes":
            return modeladmin.decision_confirmation(request, queryset, state, label)
        decided = [
            campaign_decide(campaign=campaign, state=state, decided_by=request.user)
            for campaign in queryset
        ]
        left = sum(d.left for d in decided)
        changed = f"{label}: {len(queryset)} campaign(s), {sum(d.changed for d in decided)} "
        return (
            changed
            + "comment(s) changed"
            + (f"; {left} left for you to decide (see each campaign's page)." if left else ".")
        )

    return action


@admin.register(Campaign)
class CampaignAdmin(ModeratorActions, StormBanner, admin.ModelAdmin):
    """Spam waves, decided whole: each action moves every comment of the campaign through the
    one decision path (an audit record each) and tells the worker what to do with new ones."""

    list_display = ["__str__", "state", "size", "authors", "first_seen", "last_seen", "touched"]
    list_filter = ["state"]
    readonly_fields = [
        "grouped_by", "state", "size", "authors", "first_seen", "last_seen", "touched",
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
            "select_across": request.POST.get("select_across", "0"),
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

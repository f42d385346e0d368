"""The records moderators read and the rules they keep: decisions, data requests, digests, word
rules, link domains, storm switches."""

from django.contrib import admin

from moderation.admin.base import AuditRecordAdmin
from moderation.models import (
    AuthorDataRequest,
    Comment,
    Decision,
    HeldDigest,
    LinkDomain,
    StormSwitch,
    WordRule,
)
from moderation.wording import percent, who_decided

Status = Comment.Status


@admin.register(Decision)
class DecisionAdmin(AuditRecordAdmin):
    list_display = ["created_at", "comment", "who", "from_status", "to_status", "score", "reason"]
    list_filter = ["to_status", "decided_by"]

    @admin.display(description="decided by")
    def who(self, decision):
        return who_decided(decision)

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
        obj.source = LinkDomain.Source.STAFF  # a person's word: learning never overrides it
        super().save_model(request, obj, form, change)


@admin.register(StormSwitch)
class StormSwitchAdmin(AuditRecordAdmin):
    list_display = ["created_at", "article", "on", "reason", "switched_by"]
    list_filter = ["on", "article"]
    list_select_related = ["article", "switched_by"]

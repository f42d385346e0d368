"""What every page of the desk shares: the storm banner over the lists, the moderator's permission,
and the read-only pages of records."""

from django.contrib import admin, messages

from moderation import storms


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


def moderator_action(name: str, description: str):
    """Make run(modeladmin, request, queryset) a bulk action for moderators, named `name`: the
    text it returns is shown as the message; a response (a confirmation page) is returned."""

    def wrap(run):
        @admin.action(description=description, permissions=["moderate"])
        def action(modeladmin, request, queryset):
            answer = run(modeladmin, request, queryset)
            if not isinstance(answer, str):
                return answer
            modeladmin.message_user(request, answer, messages.SUCCESS)
            return None

        action.__name__ = name
        return action

    return wrap


class ModeratorActions:
    """Actions and buttons marked permissions=["moderate"] are for those who may decide
    comments (the Moderators group, superusers)."""

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")


class AuditRecordAdmin(admin.ModelAdmin):
    """Audit records are written by the services alone: nobody adds, edits or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

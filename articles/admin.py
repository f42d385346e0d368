from django.contrib import admin, messages

from articles.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title", "section", "published_at", "comments_open", "moderation_mode", "storm",
    ]  # fmt: skip
    list_filter = ["comments_open", "moderation_mode", "section"]
    search_fields = ["title", "slug", "byline"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    actions = ["follow", "unfollow", "pin_storm_on", "pin_storm_off", "storm_automatic"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "section", "byline", "dateline", "published_at"]}),
        ("Text", {"fields": ["body"]}),
        (
            "Comment policy",
            {
                "fields": [
                    "comments_open",
                    "close_comments_after_days",
                    "moderation_mode",
                    "publish_below",
                    "spam_above",
                    "abuse_hold_at",
                    "abuse_reject_at",
                    "ask_before_posting",
                ]
            },
        ),
    ]

    @admin.display(description="storm mode")
    def storm(self, article):
        state = "on" if article.in_storm() else "off"
        return f"{state} (pinned)" if article.storm_pin else state

    def has_moderate_permission(self, request):
        return request.user.has_perm("moderation.moderate_comment")

    def _pin(self, request, queryset, pin: str):
        from moderation.storms import storm_pin_set

        for article in queryset:
            storm_pin_set(article=article, pin=pin, moderator=request.user)
        label = Article.StormPin(pin).label
        self.message_user(request, f"{label}: {len(queryset)} article(s).", messages.SUCCESS)

    @admin.action(description="Storm mode: pin on (pre-moderate)", permissions=["moderate"])
    def pin_storm_on(self, request, queryset):
        self._pin(request, queryset, Article.StormPin.ON)

    @admin.action(description="Storm mode: pin off", permissions=["moderate"])
    def pin_storm_off(self, request, queryset):
        self._pin(request, queryset, Article.StormPin.OFF)

    @admin.action(description="Storm mode: automatic again", permissions=["moderate"])
    def storm_automatic(self, request, queryset):
        self._pin(request, queryset, Article.StormPin.AUTOMATIC)

    # Any staff member who can see articles may follow them: it changes only their own mail.
    @admin.action(
        description="Follow: email me a digest of comments held on these", permissions=["view"]
    )
    def follow(self, request, queryset):
        request.user.followed_articles.add(*queryset)
        self.message_user(request, f"Following {len(queryset)} article(s).", messages.SUCCESS)

    @admin.action(description="Unfollow: no more digests for these", permissions=["view"])
    def unfollow(self, request, queryset):
        request.user.followed_articles.remove(*queryset)
        self.message_user(request, f"Unfollowed {len(queryset)} article(s).", messages.SUCCESS)

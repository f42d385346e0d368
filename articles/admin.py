from django.contrib import admin, messages

from articles.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "section", "published_at", "comments_open", "moderation_mode"]
    list_filter = ["comments_open", "moderation_mode", "section"]
    search_fields = ["title", "slug", "byline"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    actions = ["follow", "unfollow"]
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
                ]
            },
        ),
    ]

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

from django.contrib import admin

from articles.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "section", "published_at", "comments_open", "moderation_mode"]
    list_filter = ["comments_open", "moderation_mode", "section"]
    search_fields = ["title", "slug", "byline"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
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

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"

    def ready(self):
        from articles.models import Article
        from moderation.akismet.checks import rules_forget
        from moderation.cache import article_forget
        from moderation.models import LinkDomain, WordRule

        # Other sites' checks keep the rules a moment (akismet.checks.rule_lists_kept).
        for model in (WordRule, LinkDomain):
            post_save.connect(rules_forget, sender=model, dispatch_uid=f"forget-{model.__name__}")
            post_delete.connect(rules_forget, sender=model, dispatch_uid=f"del-{model.__name__}")
        # A POST reads its article from the cache (moderation.cache).
        post_save.connect(article_forget, sender=Article, dispatch_uid="forget-article")
        post_delete.connect(article_forget, sender=Article, dispatch_uid="del-article")

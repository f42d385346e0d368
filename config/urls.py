from django.conf import settings
from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from articles.api import ArticleDetailApi, ArticleListApi
from articles.views import article_page
from moderation.akismet import views as akismet
from moderation.api.comment import AuthorsCommentApi, CommentReportApi
from moderation.api.form import CommentDraftApi, CommentFormApi
from moderation.api.threads import ArticleCommentsApi

urlpatterns = [
    # The demo: the seed article with the readers' widget under it -> articles.views
    path("", article_page, name="demo"),
    path("demo/<slug:slug>/", article_page, name="demo-article"),
    path("admin/", admin.site.urls),
    # Public API: articles -> articles.api; threads and posting -> moderation.api.threads;
    # the form and a draft's check -> moderation.api.form;
    # one comment's receipt and report -> moderation.api.comment
    path("api/articles/", ArticleListApi.as_view(), name="article-list"),
    path("api/articles/<slug:slug>/", ArticleDetailApi.as_view(), name="article-detail"),
    path(
        "api/articles/<slug:slug>/comments/",
        ArticleCommentsApi.as_view(),
        name="article-comments",
    ),
    path(
        "api/articles/<slug:slug>/comment-form/",
        CommentFormApi.as_view(),
        name="article-comment-form",
    ),
    path(
        "api/articles/<slug:slug>/comment-draft/",
        CommentDraftApi.as_view(),
        name="article-comment-draft",
    ),
    path("api/comments/<int:comment_id>/", AuthorsCommentApi.as_view(), name="comment-for-author"),
    path(
        "api/comments/<int:comment_id>/report/", CommentReportApi.as_view(), name="comment-report"
    ),
    # OpenAPI schema and its interactive docs (Swagger UI served from our static files)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
if settings.REPLYGUARD_AKISMET_API:
    # Akismet-compatible API for other sites, on Akismet's own paths -> moderation.akismet
    urlpatterns += [
        path("1.1/verify-key", akismet.verify_key, name="akismet-verify-key"),
        path("1.1/comment-check", akismet.comment_check, name="akismet-comment-check"),
        path("1.1/submit-spam", akismet.submit_spam, name="akismet-submit-spam"),
        path("1.1/submit-ham", akismet.submit_ham, name="akismet-submit-ham"),
    ]

# JSON under /api/, Django's pages elsewhere (config/errors.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

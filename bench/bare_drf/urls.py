from django.urls import path
from rest_framework import generics, serializers

from articles.models import Article
from moderation.models import Comment


class BareComment(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "author_name", "author_email", "author_url", "body"]


class BareCreate(generics.CreateAPIView):
    serializer_class = BareComment

    def perform_create(self, serializer):
        serializer.save(article=Article.objects.get(slug=self.kwargs["slug"]))


urlpatterns = [path("api/articles/<slug:slug>/comments/", BareCreate.as_view())]

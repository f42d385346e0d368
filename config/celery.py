import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("replyguard")
# Every Celery setting lives in config/settings.py as CELERY_<NAME>.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

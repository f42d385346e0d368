"""The barest DRF create endpoint, for bench/load.py to measure the comment POST against in
the same run: the same comments table and database, a ModelSerializer and one INSERT, and
nothing else (no middleware, authentication, throttling, checks or task). Not part of the
service: gunicorn serves it with DJANGO_SETTINGS_MODULE=bench.bare_drf.settings."""

import environ

env = environ.Env()
SECRET_KEY = env("SECRET_KEY", default="bench-peer-only")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "articles",
    "moderation",
]
MIDDLEWARE = []
ROOT_URLCONF = "bench.bare_drf.urls"
DATABASES = {"default": env.db("DATABASE_URL") | {"CONN_MAX_AGE": 60}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

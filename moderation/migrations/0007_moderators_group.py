from django.contrib.auth.management import create_permissions
from django.db import migrations

# What the "Moderators" group may do: read comments, articles and the audit trail, and decide
# comments. Not: edit articles or their policy, edit comment text, or export/erase reader data.
MODERATOR_PERMISSIONS = [
    ("moderation", "view_comment"),
    ("moderation", "moderate_comment"),
    ("moderation", "view_decision"),
    ("moderation", "view_report"),
    ("articles", "view_article"),
]


def create_moderators_group(apps, schema_editor):
    # Permissions are normally created after all migrations; this group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0006_moderate_permission"),
        ("articles", "0002_close_comments_after_days"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_moderators_group, migrations.RunPython.noop)]

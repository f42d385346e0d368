from django.contrib.auth.management import create_permissions
from django.db import migrations


def moderators_see_campaigns(apps, schema_editor):
    # Moderators read campaigns and decide them whole (with moderate_comment, which they have).
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="moderation", codename="view_campaign")
    )


class Migration(migrations.Migration):
    dependencies = [("moderation", "0019_campaigns")]

    operations = [migrations.RunPython(moderators_see_campaigns, migrations.RunPython.noop)]

from django.contrib.auth.management import create_permissions
from django.db import migrations


def moderators_see_external_checks(apps, schema_editor):
    # Moderators read other sites' checks and correct them (with moderate_comment, which they
    # have); site keys stay with the newsroom's admins.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="moderation", codename="view_externalcheck")
    )


class Migration(migrations.Migration):
    dependencies = [("moderation", "0017_external_checks")]

    operations = [migrations.RunPython(moderators_see_external_checks, migrations.RunPython.noop)]

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Moderators see the link domains and the shadow model's scores; admins edit the domains and
# activate a candidate, as they edit the word rules.
MORE_MODERATOR_PERMISSIONS = ["view_linkdomain", "view_shadowscore"]


def grant_moderators(apps, schema_editor):
    # Permissions are normally created after all migrations; these are needed now.
    app_config = apps.get_app_config("moderation")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for codename in MORE_MODERATOR_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="moderation", codename=codename)
        )


class Migration(migrations.Migration):
    dependencies = [("moderation", "0011_shadow_scores_and_link_domains")]

    operations = [migrations.RunPython(grant_moderators, migrations.RunPython.noop)]

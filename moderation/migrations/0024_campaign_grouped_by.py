from django.db import migrations


class Migration(migrations.Migration):
    """Campaign.shared reads as "grouped by": what its comments have in common, in words."""

    dependencies = [("moderation", "0023_copies_and_campaign_trust")]

    operations = [
        migrations.RenameField(model_name="campaign", old_name="shared", new_name="grouped_by"),
    ]

import ipaddress

from django.db import migrations, models
from django.db.models import F


def count_existing_posters(apps, schema_editor):
    # privacy.poster_network at its default (/64), frozen here as migrations must be.
    Comment = apps.get_model("moderation", "Comment")
    Comment.objects.filter(ip_address__contains=".").update(poster_network=F("ip_address"))
    batch = []
    for comment in Comment.objects.filter(ip_address__contains=":").only("pk", "ip_address"):
        network = ipaddress.ip_network(f"{comment.ip_address}/64", strict=False)
        comment.poster_network = str(network.network_address)
        batch.append(comment)
    Comment.objects.bulk_update(batch, ["poster_network"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0004_thread_version"),
        ("moderation", "0015_form_token_single_use"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="comment",
            name="moderation__ip_addr_26b9f4_idx",
        ),
        migrations.AddField(
            model_name="comment",
            name="poster_network",
            field=models.GenericIPAddressField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(count_existing_posters, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(
                fields=["poster_network", "created_at"], name="moderation__poster__9e16c2_idx"
            ),
        ),
    ]

import hashlib
import unicodedata

from django.db import migrations, models


def fingerprint(text):
    # rules.text_fingerprint as of this migration, frozen here as migrations must be.
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return hashlib.sha256(" ".join(visible.split()).encode()).hexdigest()


def fingerprint_existing_comments(apps, schema_editor):
    Comment = apps.get_model("moderation", "Comment")
    batch = []
    for comment in Comment.objects.only("pk", "body").iterator(chunk_size=2000):
        comment.body_fingerprint = fingerprint(comment.body)
        batch.append(comment)
        if len(batch) == 2000:
            Comment.objects.bulk_update(batch, ["body_fingerprint"])
            batch = []
    Comment.objects.bulk_update(batch, ["body_fingerprint"])


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0013_duplicate_and_flood_causes"),
    ]

    operations = [
        migrations.AddField(
            model_name="comment",
            name="body_fingerprint",
            field=models.CharField(
                blank=True, default="", db_default="", editable=False, max_length=64
            ),
        ),
        migrations.RunPython(fingerprint_existing_comments, migrations.RunPython.noop),
    ]

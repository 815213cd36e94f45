# The proof of work moved to tessera.core (the contact form uses it too); challenges spent in the last hour
# are copied over so that none of them can be replayed across the deployment.

from django.db import migrations


def copy_spent(apps, schema_editor):
    old = apps.get_model("cards", "SpentChallenge")
    new = apps.get_model("core", "SpentChallenge")
    new.objects.bulk_create(
        [new(challenge_id=row.challenge_id, expires_at=row.expires_at) for row in old.objects.iterator()],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0005_card_directory_and_office"),
        ("core", "0004_spent_challenge"),
    ]

    operations = [
        migrations.RunPython(copy_spent, migrations.RunPython.noop),
        migrations.DeleteModel(name="SpentChallenge"),
    ]

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def recording_answers_expire(apps, schema_editor):
    # An answer is given during its session, so its session was created before: this errs on keeping.
    days = settings.TESSERA_PRIVACY["recording_notice_days"]
    apps.get_model("privacy", "ConsentRecord").objects.filter(
        purpose="recording_notice", keep_until__isnull=True
    ).update(keep_until=F("given_at") + timedelta(days=days))


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0002_consent_texts_policy_progress"),
    ]

    operations = [
        migrations.AddField(
            model_name="consentrecord",
            name="keep_until",
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="kept until"),
        ),
        migrations.RunPython(recording_answers_expire, migrations.RunPython.noop),
    ]

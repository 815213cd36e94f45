import django.db.models.deletion
from django.apps import apps as installed
from django.conf import settings
from django.db import migrations, models

# The rule moved from cards to accounts: carry the warnings already sent, so nobody is warned twice.
CARDS = installed.is_installed("tessera.cards")


def warnings_carry_over(apps, schema_editor):
    if not CARDS:
        return
    Warning = apps.get_model("privacy", "InactivityWarning")
    Warning.objects.bulk_create(
        Warning(user_id=user_id, warned_at=warned_at)
        for user_id, warned_at in apps.get_model("cards", "InactivityNotice").objects.values_list(
            "user_id", "warned_at"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0003_consent_keep_until"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        *([("cards", "0003_restriction_roles_indexes")] if CARDS else []),
    ]

    operations = [
        migrations.CreateModel(
            name="InactivityWarning",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("warned_at", models.DateTimeField(verbose_name="warned")),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inactivity_warning",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "inactivity warning",
                "verbose_name_plural": "inactivity warnings",
            },
        ),
        migrations.RunPython(warnings_carry_over, migrations.RunPython.noop),
    ]

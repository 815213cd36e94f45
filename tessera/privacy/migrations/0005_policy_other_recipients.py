from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_inactivity_warning"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyversion",
            name="accounts_notified",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="policyversion",
            name="others_notified_through",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0005_policy_other_recipients"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="rightsrequest",
            options={
                "ordering": ["due_at"],
                "permissions": [
                    ("carry_out_directive", "Can verify a death notice and carry out the directive")
                ],
                "verbose_name": "rights request",
                "verbose_name_plural": "rights requests",
            },
        ),
        migrations.AddField(
            model_name="rightsrequest",
            name="requester_email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="presented by"),
        ),
        migrations.CreateModel(
            name="DirectiveExport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                ("archive", models.BinaryField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("downloaded_at", models.DateTimeField(blank=True, null=True)),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="directive_exports",
                        to="privacy.rightsrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "export for the person named in a directive",
            },
        ),
    ]

from django.db import migrations


class Migration(migrations.Migration):
    # The warnings already sent were copied to privacy.InactivityWarning first, so nobody is warned twice.
    dependencies = [
        ("cards", "0003_restriction_roles_indexes"),
        ("privacy", "0004_inactivity_warning"),
    ]

    operations = [
        migrations.DeleteModel(
            name="InactivityNotice",
        ),
    ]

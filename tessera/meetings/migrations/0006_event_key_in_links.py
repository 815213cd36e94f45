from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0005_event_room_ended_at"),
    ]

    # Events made before decision 0010 were emailed links that carry the key: they keep that mode, so
    # that a resend or an update repeats the links their invitees hold. New events default to links
    # without the key.
    operations = [
        migrations.AddField(
            model_name="event",
            name="key_in_links",
            field=models.BooleanField(default=True, verbose_name="links carry the meeting key"),
        ),
        migrations.AlterField(
            model_name="event",
            name="key_in_links",
            field=models.BooleanField(default=False, verbose_name="links carry the meeting key"),
        ),
        migrations.AlterField(
            model_name="event",
            name="room_secret_check",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]

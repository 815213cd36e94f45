from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0006_event_key_in_links"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="instant",
            field=models.BooleanField(default=False, verbose_name="instant meeting"),
        ),
        migrations.AlterField(
            model_name="event",
            name="organiser_email",
            field=models.EmailField(
                blank=True, db_index=True, max_length=254, verbose_name="organiser's email"
            ),
        ),
        migrations.AlterField(
            model_name="event",
            name="title",
            field=models.CharField(blank=True, max_length=200, verbose_name="title"),
        ),
    ]

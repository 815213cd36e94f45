from django.db import models


class AssistantDay(models.Model):
    """How many questions the assistant answered and did not, per day: counts only, never a question."""

    day = models.DateField(unique=True)
    answered = models.PositiveIntegerField(default=0)
    unanswered = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.day}: {self.answered}/{self.unanswered}"

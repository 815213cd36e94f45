from django.core.management.base import BaseCommand, CommandError

from tessera.core.audit import security_log_verify
from tessera.core.models import SecurityLogHead


class Command(BaseCommand):
    help = "Verify the hash chain of the security log; fails if any entry was edited, deleted or inserted."

    def handle(self, *args, **options):
        problems = security_log_verify()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            shown = "; ".join(problems[:5]) + (
                f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            )
            raise CommandError(f"The security log was tampered with: {shown}.")
        head = SecurityLogHead.objects.filter(pk=1).first()
        count = (head.last_seq - head.anchor_seq) if head else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Security log intact: {count} entries, head {head.last_hash if head else '-'}"
            )
        )

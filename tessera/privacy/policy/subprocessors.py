"""The public list of sub-processors, read from the register: who, for what, where, and which activities."""

from django.conf import settings
from django.utils.translation import gettext as _

from ..register import EEA_COUNTRIES, registry


def subprocessor_rows() -> list[dict]:
    """Every sub-processor that at least one activity of the register declares, in declaration order."""
    used: dict[str, list[str]] = {}
    for activity in registry.activities.values():
        for key in activity.sub_processors:
            titles = used.setdefault(key, [])
            if str(activity.title) not in titles:
                titles.append(str(activity.title))
    rows = []
    for key, processor in settings.TESSERA_SUB_PROCESSORS.items():
        if key not in used:
            continue
        in_eea = processor["country"] in EEA_COUNTRIES
        safeguards = [_("A data processing agreement under GDPR Art. 28")]
        if in_eea:
            safeguards.append(_("Data stays in the European Economic Area"))
        else:
            safeguards.append(str(processor.get("transfer_safeguards", "")) or _("Transfer outside the EEA"))
        rows.append(
            {
                "key": key,
                "name": processor["name"],
                "purpose": str(processor["service"]),
                "country": processor["country"],
                "in_eea": in_eea,
                "personal_data": processor["personal_data"],
                "safeguards": safeguards,
                "dpa_url": processor.get("dpa_url", ""),
                "activities": used[key],
            }
        )
    return rows

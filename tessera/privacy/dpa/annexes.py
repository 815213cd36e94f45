"""The agreement's annexes, read from the register: the processing done for the customer (Annex 1), the
sub-processors it uses (Annex 2) and the security measures (Annex 3).

An activity belongs in Annex 1 when the register says the operator is a processor for it (`processor_for`).
"""

from ..policy.subprocessors import subprocessor_rows
from ..register import registry
from ..security_measures import PLATFORM_MEASURES


def processor_activities() -> list:
    """The register's activities done on a customer's behalf, in declaration order."""
    return [a for a in registry.activities.values() if a.processor_for]


def annex_processing() -> list[dict]:
    """Annex 1: for each activity, its nature and purpose, the people and data concerned, and how long."""
    return [
        {
            "name": a.name,
            "title": str(a.title),
            "service": str(a.service),
            "controller": str(a.processor_for),
            "purpose": str(a.purpose),
            "instructions": str(a.legal_basis_detail),
            "data_subjects": [str(x) for x in a.data_subjects],
            "data_categories": [str(x) for x in a.data_categories],
            "recipients": [str(x) for x in a.recipients],
            "retention": str(a.retention.description),
            "transfers": str(a.transfers_outside_eea),
        }
        for a in processor_activities()
    ]


def annex_subprocessors() -> list[dict]:
    """Annex 2: the sub-processors that at least one Annex 1 activity uses, with the activities they serve."""
    activities = processor_activities()
    rows = []
    for row in subprocessor_rows():
        served = [str(a.title) for a in activities if row["key"] in a.sub_processors]
        if served:
            rows.append({**row, "activities": served})
    return rows


def annex_security() -> dict:
    """Annex 3: the measures of the whole platform by Art. 32 heading, then those of each Annex 1 activity."""
    return {
        "platform": [
            (str(heading), [str(m) for m in measures]) for heading, measures in PLATFORM_MEASURES.items()
        ],
        "activities": [(str(a.title), [str(m) for m in a.security_measures]) for a in processor_activities()],
    }


def annexes() -> dict:
    return {
        "processing": annex_processing(),
        "subprocessors": annex_subprocessors(),
        "security": annex_security(),
    }

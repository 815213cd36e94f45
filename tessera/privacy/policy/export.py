"""The Art. 30 register as a download: JSON, and CSV with the headings of the CNIL template."""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.core.spreadsheet import csv_text

from ..models import PolicyVersion
from .content import policy_current, register_hash, register_rows


def register_columns() -> list[tuple[str, str]]:
    """CSV columns: the headings of the CNIL register template (translated), and their keys."""
    return [
        ("ref", _("Reference")),
        ("name", _("Name of the processing")),
        ("created", _("Record created")),
        ("updated", _("Last update")),
        ("controller", _("Controller")),
        ("representative", _("Representative")),
        ("joint_controller", _("Joint controller")),
        ("dpo", _("Data protection officer")),
        ("purpose", _("Purpose(s) of the processing")),
        ("legal_basis", _("Legal basis")),
        ("data_subjects", _("Categories of data subjects")),
        ("data_categories", _("Categories of personal data")),
        ("category_retention", _("Retention period of each category of data")),
        ("sensitive_data", _("Sensitive data")),
        ("recipients", _("Categories of recipients")),
        ("sub_processors", _("Processors")),
        ("transfer_recipients", _("Transfers outside the EU: recipient")),
        ("transfer_countries", _("Transfers outside the EU: country")),
        ("transfer_safeguards", _("Transfers outside the EU: safeguards")),
        ("retention", _("Retention periods")),
        ("security", _("Technical and organisational security measures")),
    ]


def activity_dates() -> dict[str, tuple]:
    """When each activity's record was created and last changed, from the published versions."""
    dates: dict[str, list] = {}
    fingerprints: dict[str, str] = {}
    for published_at, register in PolicyVersion.objects.order_by("number").values_list(
        "published_at", "register"
    ):
        for row in register.get("activities", []):
            fingerprint = register_hash(row)
            if row["id"] not in dates:
                dates[row["id"]] = [published_at, published_at]
            elif fingerprints[row["id"]] != fingerprint:
                dates[row["id"]][1] = published_at
            fingerprints[row["id"]] = fingerprint
    return {key: (created.date(), updated.date()) for key, (created, updated) in dates.items()}


def _representative() -> str:
    # GDPR Art. 27: only a controller established outside the Union names a representative in it.
    return str(settings.TESSERA_OPERATOR.get("representative") or "")


def register_export() -> dict:
    version = policy_current()
    operator = settings.TESSERA_OPERATOR
    dates = activity_dates()
    today = timezone.now().date()
    activities = []
    for row in register_rows():
        created, updated = dates.get(row["id"], (today, today))
        activities.append({**row, "created": created.isoformat(), "updated": updated.isoformat()})
    return {
        "schema": "tessera.privacy.register/2",
        "controller": {
            "name": operator["name"],
            "address": operator["address"],
            "email": operator["email"],
        },
        "representative": _representative() or None,
        "dpo": {"email": operator["dpo_email"], "address": operator["dpo_address"]},
        "supervisory_authority": operator["supervisory_authority"],
        "version": version.number if version else None,
        "updated": version.published_at.date().isoformat() if version else None,
        "activities": activities,
    }


def register_csv() -> str:
    data = register_export()
    controller = "; ".join(x for x in data["controller"].values() if x)
    dpo = "; ".join(x for x in data["dpo"].values() if x)
    no_transfer = _("None: no transfer outside the EEA")
    columns = register_columns()
    rows = []
    for row in data["activities"]:
        transfers = row["transfers"]
        values = {
            "ref": row["id"],
            "name": row["name"],
            "created": row["created"],
            "updated": row["updated"],
            # Art. 30(2): for what it processes on a customer's behalf, the operator is that customer's processor.
            "controller": (
                controller
                + "; "
                + _("acting as processor (GDPR Art. 28) on behalf of %(customer)s")
                % {"customer": row["processor_for"]}
                if row["processor_for"]
                else controller
            ),
            "representative": data["representative"]
            or _("None: the controller is established in the European Union"),
            "joint_controller": row["joint_controller"] or _("None"),
            "dpo": dpo,
            "purpose": row["purpose"],
            "legal_basis": f"{row['legal_basis_label']} {row['legal_basis_detail']}".strip(),
            "data_subjects": "; ".join(row["data_subjects"]),
            "data_categories": "; ".join(row["data_categories"]),
            "category_retention": "; ".join(
                f"{c['category']}: {c['retention']}" for c in row["category_retention"]
            ),
            "sensitive_data": _("yes") if row["sensitive_data"] else _("no"),
            "recipients": "; ".join(row["recipients"]),
            "sub_processors": "; ".join(
                f"{p['name']} ({p['service']}, {p['country']}"
                + (f", {p['dpa_url']})" if p["dpa_url"] else ")")
                for p in row["sub_processors"]
            ),
            "transfer_recipients": "; ".join(t["recipient"] for t in transfers) or no_transfer,
            "transfer_countries": "; ".join(t["country"] for t in transfers) or no_transfer,
            "transfer_safeguards": "; ".join(t["safeguards"] for t in transfers) or no_transfer,
            "retention": row["retention"],
            "security": "; ".join(row["security_measures"]),
        }
        rows.append([values[key] for key, _label in columns])
    return csv_text(rows, header=[label for _key, label in columns])

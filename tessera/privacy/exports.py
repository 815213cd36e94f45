"""The access and portability export: one ZIP with JSON, a CSV per category and a readable summary."""

import csv
import io
import json
import zipfile

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .register import Subject

SCHEMA_ID = "tessera.privacy.export/1"

# JSON Schema of data.json; docs/privacy-promises.md and the README inside the ZIP point here.
EXPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "Personal data export",
    "type": "object",
    "required": ["schema", "generated_at", "controller", "subject", "sections"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "generated_at": {"type": "string", "format": "date-time"},
        "controller": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "dpo_email": {"type": "string"}},
        },
        "subject": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["activity", "category", "purpose", "legal_basis", "retention", "rows"],
                "properties": {
                    "activity": {"type": "string", "description": "Identifier in the register"},
                    "category": {"type": "string", "description": "Name of the CSV file, without .csv"},
                    "purpose": {"type": "string"},
                    "legal_basis": {"type": "string"},
                    "retention": {"type": "string"},
                    "rows": {
                        "type": "array",
                        "items": {"type": "object", "description": "One record; values are JSON scalars"},
                    },
                },
            },
        },
    },
}


def export_data(subject: Subject) -> dict:
    """Everything linked to the subject's address, from every app's export handler."""
    from .register import registry
    from .services import subject_export

    sections = []
    for section in subject_export(subject):
        activity = registry.activities.get(section.activity)
        sections.append(
            {
                "activity": section.activity,
                "category": section.category,
                "purpose": str(activity.purpose) if activity else "",
                "legal_basis": activity.legal_basis if activity else "",
                "retention": str(activity.retention.description) if activity else "",
                "rows": section.rows,
            }
        )
    return {
        "schema": SCHEMA_ID,
        "generated_at": timezone.now().isoformat(),
        "controller": {
            "name": settings.TESSERA_OPERATOR["name"],
            "dpo_email": settings.TESSERA_OPERATOR["dpo_email"],
        },
        "subject": {"email": subject.email},
        "sections": sections,
    }


def _csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or ["empty"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return out.getvalue()


def export_zip(data: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("schema.json", json.dumps(EXPORT_SCHEMA, indent=2))
        by_category: dict[str, list] = {}
        for section in data["sections"]:
            by_category.setdefault(section["category"], []).extend(section["rows"])
        for category, rows in by_category.items():
            archive.writestr(f"csv/{category}.csv", _csv(rows))
        archive.writestr(
            "summary.html",
            render_to_string(
                "privacy/export_summary.html", {"data": data, "operator": settings.TESSERA_OPERATOR}
            ),
        )
    return buffer.getvalue()

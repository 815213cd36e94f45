"""The access and portability export: one ZIP with JSON and its schema, a CSV per category, the files,
a readable summary and a README explaining them.

schema.json is a JSON Schema (draft 2020-12) of data.json. Its envelope is `EXPORT_SCHEMA`; each
section gets its own definition, derived from the register (the activity's purpose, legal basis,
retention, data categories and declared model fields) and from the columns the app's handler wrote.
"""

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tessera.core.spreadsheet import csv_dict_text

from .register import LegalBasis, Subject, registry
from .subjects import subject_export

SCHEMA_ID = "tessera.privacy.export/1"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

FILE_SCHEMA = {
    "type": "object",
    "description": "A file of this export, stored in the ZIP at `path`",
    "required": ["path", "name", "content_type", "bytes", "sha256"],
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "description": "Where the file is in the ZIP"},
        "name": {"type": "string"},
        "content_type": {"type": "string", "description": "Media type of the file"},
        "bytes": {"type": "integer", "description": "Size in bytes"},
        "sha256": {"type": "string", "description": "SHA-256 of the file, hexadecimal"},
        "description": {"type": "string"},
    },
}

# The envelope of data.json; `export_schema` adds one definition per section.
EXPORT_SCHEMA = {
    "$schema": SCHEMA_DIALECT,
    "$id": SCHEMA_ID,
    "title": "Personal data export",
    "type": "object",
    "required": ["schema", "generated_at", "language", "controller", "subject", "sections", "not_exported"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "generated_at": {"type": "string", "format": "date-time"},
        "language": {"type": "string", "description": "Language of the texts of this export"},
        "controller": {
            "type": "object",
            "required": ["name", "dpo_email"],
            "properties": {"name": {"type": "string"}, "dpo_email": {"type": "string"}},
        },
        "subject": {
            "type": "object",
            "required": ["email"],
            "properties": {"email": {"type": "string", "format": "email"}},
        },
        "sections": {"type": "array", "items": {"type": "object"}},
        "not_exported": {
            "type": "array",
            "description": "Processing activities this export leaves out on purpose, and why",
            "items": {
                "type": "object",
                "required": ["activity", "reason"],
                "additionalProperties": False,
                "properties": {"activity": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "$defs": {"file": FILE_SCHEMA},
}

SECTION_KEYS = ("activity", "category", "purpose", "legal_basis", "retention", "rows", "files")


@dataclass
class Export:
    """What the ZIP is made of: data.json's content, and the files it refers to by path."""

    data: dict
    files: dict = field(default_factory=dict)  # {path in the ZIP: (bytes, content type)}
    schema: dict = field(default_factory=dict)


def _safe_name(name: str) -> str:
    """A file name that stays inside its folder of the ZIP."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit("/", 1)[-1]).strip(".-")
    return cleaned or "file"


def _file_entries(category: str, files, into: dict) -> list[dict]:
    entries = []
    for exported in files:
        path = f"files/{_safe_name(category)}/{_safe_name(exported.name)}"
        stem, dot, suffix = path.rpartition(".")
        number = 2
        while path in into:  # two files of the same name in one category
            path = f"{stem}-{number}{dot}{suffix}" if dot else f"{path}-{number}"
            number += 1
        content = bytes(exported.content)
        into[path] = (content, exported.content_type)
        entries.append(
            {
                "path": path,
                "name": exported.name,
                "content_type": exported.content_type,
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "description": str(exported.description),
            }
        )
    return entries


def export_build(subject: Subject, *, language: str | None = None) -> Export:
    """Everything linked to the subject's address, from every app's export handler."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    files: dict = {}
    sections = []
    raw = subject_export(subject)
    with translation.override(language):
        for section in raw:
            activity = registry.activities.get(section.activity)
            sections.append(
                {
                    "activity": section.activity,
                    "category": section.category,
                    "purpose": str(activity.purpose) if activity else "",
                    "legal_basis": activity.legal_basis if activity else "",
                    "retention": str(activity.retention.description) if activity else "",
                    "rows": section.rows,
                    "files": _file_entries(section.category, section.files, files),
                }
            )
        data = {
            "schema": SCHEMA_ID,
            "generated_at": timezone.now().isoformat(),
            "language": language,
            "controller": {
                "name": str(settings.TESSERA_OPERATOR["name"]),
                "dpo_email": str(settings.TESSERA_OPERATOR["dpo_email"]),
            },
            "subject": {"email": subject.email},
            "sections": sections,
            "not_exported": [
                {"activity": name, "reason": str(reason)}
                for name, reason in sorted(registry.not_exported.items())
            ],
        }
        schema = export_schema(data, raw)
    return Export(data=data, files=files, schema=schema)


def export_data(subject: Subject) -> dict:
    """data.json of the subject's export (the files it lists are not read into the result)."""
    return export_build(subject).data


# --- schema.json ----------------------------------------------------------------------------------


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"  # dates and other values are written as text (json.dumps default=str)


def _declared_fields(activity) -> tuple[list[str], dict]:
    """The activity's declared model fields as 'app.Model.field: verbose name', and names to labels."""
    from django.apps import apps

    listed, by_name = [], {}
    for label, names in sorted(activity.fields.items()):
        model = apps.get_model(label)
        for name in names:
            verbose = str(getattr(model._meta.get_field(name), "verbose_name", name))
            listed.append(f"{label}.{name}: {verbose}")
            by_name.setdefault(name, verbose)
    return listed, by_name


def _section_schema(section: dict, raw, activity) -> dict:
    rows = section["rows"]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    declared, by_name = _declared_fields(activity) if activity else ([], {})
    described = {k: str(v) for k, v in (raw.columns if raw else {}).items()}
    properties = {}
    for column in columns:
        types = sorted({_json_type(row[column]) for row in rows if column in row})
        properties[column] = {
            "type": types[0] if len(types) == 1 else types,
            "description": described.get(column)
            or by_name.get(column)
            or column.replace("_", " ").capitalize(),
        }
    description = " ".join(
        x for x in (str(activity.title) if activity else "", str(raw.description) if raw else "") if x
    )
    schema = {
        "type": "object",
        "description": description or section["category"],
        "required": list(SECTION_KEYS),
        "additionalProperties": False,
        "properties": {
            "activity": {"const": section["activity"], "description": "Identifier in the register"},
            "category": {"const": section["category"], "description": "Name of the CSV file, without .csv"},
            "purpose": {"type": "string"},
            "legal_basis": {"enum": [*LegalBasis.labels, ""]},
            "retention": {"type": "string"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [c for c in columns if all(c in row for row in rows)],
                    "additionalProperties": False,
                    "properties": properties,
                },
            },
            "files": {"type": "array", "items": {"$ref": "#/$defs/file"}},
        },
    }
    if activity:
        schema["x-register"] = {
            "title": str(activity.title),
            "legal_basis": str(LegalBasis.labels[activity.legal_basis]),
            "data_categories": [str(c) for c in activity.data_categories],
            "declared_fields": declared,
        }
    return schema


def section_key(section: dict) -> str:
    return f"section:{section['activity']}/{section['category']}"


def export_schema(data: dict, raw_sections=()) -> dict:
    """The JSON Schema of `data`: the envelope, plus one definition per section of the register."""
    by_key = {(s.activity, s.category): s for s in raw_sections}
    grouped: dict[str, dict] = {}
    for section in data["sections"]:  # an app may return several sections of one category
        key = section_key(section)
        if key in grouped:
            grouped[key]["rows"] = grouped[key]["rows"] + section["rows"]
        else:
            grouped[key] = dict(section)
    schema = json.loads(json.dumps(EXPORT_SCHEMA))
    for key, section in grouped.items():
        schema["$defs"][key] = _section_schema(
            section,
            by_key.get((section["activity"], section["category"])),
            registry.activities.get(section["activity"]),
        )
    refs = [{"$ref": "#/$defs/" + key.replace("~", "~0").replace("/", "~1")} for key in grouped]
    schema["properties"]["sections"] = {"type": "array", "items": {"oneOf": refs} if refs else {}}
    return schema


_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def schema_errors(instance, schema: dict, *, root: dict | None = None, path: str = "$") -> list[str]:
    """Where `instance` breaks `schema`: the subset of JSON Schema that schema.json uses.

    (type, const, enum, required, properties, additionalProperties, items, oneOf, anyOf, $ref and the
    date-time format.) The `jsonschema` package is not a dependency; this is enough to check exports.
    """
    root = root or schema
    if "$ref" in schema:
        return schema_errors(instance, _resolve(root, schema["$ref"]), root=root, path=path)
    errors = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](instance) for t in types):
            return [f"{path}: {type(instance).__name__} is not {' or '.join(types)}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: {instance!r} is not {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    if schema.get("format") == "date-time" and isinstance(instance, str):
        try:
            datetime.fromisoformat(instance)
        except ValueError:
            errors.append(f"{path}: {instance!r} is not a date-time")
    if isinstance(instance, dict):
        errors += [f"{path}: {key!r} is missing" for key in schema.get("required", []) if key not in instance]
        properties = schema.get("properties", {})
        for key, value in instance.items():
            if key in properties:
                errors += schema_errors(value, properties[key], root=root, path=f"{path}.{key}")
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: {key!r} is not in the schema")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            errors += schema_errors(item, schema["items"], root=root, path=f"{path}[{index}]")
    for keyword in ("oneOf", "anyOf"):
        if keyword in schema:
            passing = [
                not schema_errors(instance, option, root=root, path=path) for option in schema[keyword]
            ]
            if (keyword == "oneOf" and passing.count(True) != 1) or not any(passing):
                errors.append(f"{path}: matches {passing.count(True)} of the {keyword} schemas")
    return errors


# --- The ZIP --------------------------------------------------------------------------------------


def _csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return csv_dict_text(
        (
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
            for row in rows
        ),
        columns or ["empty"],
    )


def export_zip(export: Export) -> bytes:
    """The ZIP of an export; its README and summary are in the export's language."""
    data = export.data
    by_category: dict[str, list] = {}
    for section in data["sections"]:
        by_category.setdefault(section["category"], []).extend(section["rows"])
    csv_files = {f"csv/{_safe_name(category)}.csv": rows for category, rows in by_category.items()}
    context = {
        "data": data,
        "operator": settings.TESSERA_OPERATOR,
        "csv_files": sorted(csv_files),
        "files": sorted(export.files),
        "LANGUAGE_CODE": data["language"],
    }
    with translation.override(data["language"]):
        readme = render_to_string("privacy/export_readme.txt", context)
        summary = render_to_string("privacy/export_summary.html", context)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("schema.json", json.dumps(export.schema, ensure_ascii=False, indent=2))
        for path, rows in csv_files.items():
            archive.writestr(path, _csv(rows))
        for path, (content, _content_type) in export.files.items():
            archive.writestr(path, content)
        archive.writestr("summary.html", summary)
    return buffer.getvalue()

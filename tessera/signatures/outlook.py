"""Signatures as files: the .htm a member installs, and the ZIP an administrator deploys to Outlook by script.

Graph has no API for Outlook's roaming signatures: the ZIP holds one folder per member, named by their
address, with the files Outlook for Windows reads from %APPDATA%\\Microsoft\\Signatures (docs/signatures-outlook.md).
"""

import io
import re
import zipfile

from django.template.loader import render_to_string

from .selectors import member_signatures


def signature_document(*, signature, title: str, language: str) -> str:
    """A whole HTML document around the signature, as Outlook, Apple Mail and Thunderbird import it."""
    return render_to_string(
        "signatures/document.htm", {"signature": signature, "title": title, "language": language}
    )


def file_stem(name: str) -> str:
    """A file name every system accepts: letters, digits, spaces, @, dots and dashes."""
    stem = re.sub(r"[^\w @.-]", "", name, flags=re.UNICODE).strip(" .")
    return stem[:60] or "signature"


def outlook_zip(*, organisation, language: str) -> tuple[bytes, list, int]:
    """(the ZIP, the members left out with why, how many are in it): <address>/<organisation>.htm and .txt."""
    out = io.BytesIO()
    stem = file_stem(organisation.name)
    left_out, count = [], 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for found in member_signatures(organisation=organisation):
            if found.signature is None:
                left_out.append(found)
                continue
            folder = file_stem(found.profile["email"].lower())
            document = signature_document(signature=found.signature, title=stem, language=language)
            archive.writestr(f"{folder}/{stem}.htm", document.encode())
            archive.writestr(f"{folder}/{stem}.txt", found.signature.text.encode("utf-8-sig"))
            count += 1
    return out.getvalue(), left_out, count

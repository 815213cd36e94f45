"""The passages the assistant searches, built at run time from the FAQ, the rendered policy and the register."""

import hashlib
import json
from dataclasses import asdict, dataclass
from html.parser import HTMLParser

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tessera.privacy import policy
from tessera.privacy.policy import RIGHTS

from ..faq import faq_entries

# Policy sections already given activity by activity from the register: their tables would only repeat it.
REGISTER_SECTIONS = {"data", "purposes", "recipients", "retention"}
BLOCKS = {"p", "li", "tr", "dd"}


@dataclass(frozen=True)
class Passage:
    title: str
    url: str
    text: str
    # Words searched but not quoted, e.g. the FAQ question next to its answer.
    keywords: str = ""
    source: str = "policy"  # or "faq", "register"
    # Quoted after the text but not searched: the rights, the same in every register passage.
    unindexed: str = ""

    @property
    def quoted(self) -> str:
        return f"{self.text} {self.unindexed}".strip()


class _Sections(HTMLParser):
    """Collects, per <section id>, its heading and the text of each block (paragraph, list item, table row)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[dict] = []
        self.depth = 0  # of open blocks
        self.in_heading = False
        self.block: list[str] = []
        self.row_id = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self.sections.append({"id": attrs["id"], "title": "", "blocks": []})
        elif not self.sections:
            return
        elif tag == "h2":
            self.in_heading = True
        elif tag in BLOCKS:
            if self.depth == 0:
                self.block, self.row_id = [], attrs.get("id", "")
            self.depth += 1

    def handle_endtag(self, tag):
        if not self.sections:
            return
        if tag == "h2":
            self.in_heading = False
        elif tag in BLOCKS and self.depth:
            self.depth -= 1
            text = " ".join(" ".join(self.block).split())
            if self.depth == 0 and text:
                self.sections[-1]["blocks"].append((self.row_id, text, tag))
        elif tag in ("td", "th", "dt") and self.depth:
            self.block.append(" —")

    def handle_data(self, data):
        if not self.sections:
            return
        if self.in_heading:
            self.sections[-1]["title"] += data.strip()
        elif self.depth:
            self.block.append(data.strip())


def _policy_passages(policy_url: str) -> list[Passage]:
    parser = _Sections()
    operator = {k: str(v) for k, v in settings.TESSERA_OPERATOR.items()}
    parser.feed(render_to_string("privacy/policy.html", {**policy.policy_context(), "operator": operator}))
    passages = []
    for section in parser.sections:
        for row_id, text, tag in section["blocks"]:
            if section["id"] in REGISTER_SECTIONS and tag != "p":
                continue
            anchor = row_id or section["id"]
            passages.append(Passage(section["title"], f"{policy_url}#{anchor}", text.rstrip(" —")))
    return passages


def _register_passages(policy_url: str) -> list[Passage]:
    """One passage per activity, in the words of the register; the policy's retention table shows it."""
    rights = "; ".join(str(name) for _key, name, _text in RIGHTS)
    passages = []
    for row in policy.register_rows():
        processors = ", ".join(f"{p['name']} ({p['country']})" for p in row["sub_processors"])
        sentences = [
            _("Retention of “%(name)s”: %(retention)s")
            % {"name": row["name"], "retention": row["retention"]},
            _("Purpose: %(purpose)s.") % {"purpose": row["purpose"].rstrip(".")},
            _("Legal basis: %(basis)s.") % {"basis": row["legal_basis_label"]},
            _("Recipients: %(recipients)s.") % {"recipients": "; ".join(row["recipients"])},
            _("Sub-processors: %(processors)s.") % {"processors": processors or _("none")},
        ]
        passages.append(
            Passage(
                title=row["name"],
                url=f"{policy_url}#retention",
                text=" ".join(sentences),
                keywords=" ".join(row["data_categories"]),
                source="register",
                unindexed=_("Your rights: %(rights)s.") % {"rights": rights},
            )
        )
    return passages


def _faq_passages(faq_url: str) -> list[Passage]:
    return [
        Passage(entry["question"], f"{faq_url}#{entry['slug']}", entry["answer"], entry["question"], "faq")
        for entry in faq_entries()
    ]


def passages_build(language: str) -> list[Passage]:
    with translation.override(language):
        policy_url = reverse("privacy:policy")
        return [
            *_faq_passages(reverse("faq")),
            *_register_passages(policy_url),
            *_policy_passages(policy_url),
        ]


def passages_key(language: str) -> str:
    """What the passages depend on but the policy's fixed wording: the register, in this language."""
    with translation.override(language):
        rows = policy.register_rows()
        entries = faq_entries()
    payload = {"rows": rows, "faq": entries, "text": policy.POLICY_TEXT_VERSION, "language": language}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def passage_dict(passage: Passage) -> dict:
    return asdict(passage)

"""What an email signature may contain: email-safe HTML, read by a real parser, and placeholders only.

Mail clients ignore or strip stylesheets and scripts, and Gmail refuses a signature over 10,000 characters;
a template that breaks one of these rules is refused at save time with a message that names the rule.
"""

import re
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.template import Engine, TemplateSyntaxError
from django.template.base import TextNode, VariableNode
from django.template.defaulttags import ForNode, IfNode
from django.utils.formats import number_format
from django.utils.translation import gettext as _

MAX_CHARS = 10_000  # Gmail's limit for a signature
MAX_WIDTH = 600  # pixels: wider than this scrolls sideways in most reading panes

# Tags mail clients render; anything else is refused rather than guessed about.
ALLOWED_TAGS = {
    "a", "b", "br", "center", "div", "em", "font", "h1", "h2", "h3", "h4", "hr", "i", "img", "li", "ol",
    "p", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
# Refused with their own message: they run code, send data, or load styles from elsewhere.
FORBIDDEN_TAGS = {
    "script": "script",
    "noscript": "script",
    "style": "stylesheet",
    "link": "stylesheet",
    "form": "form",
    "input": "form",
    "button": "form",
    "select": "form",
    "textarea": "form",
    "iframe": "frame",
    "frame": "frame",
    "object": "frame",
    "embed": "frame",
    "svg": "frame",
    "meta": "document",
    "base": "document",
    "html": "document",
    "head": "document",
    "body": "document",
}
ALLOWED_ATTRIBUTES = {
    "align", "alt", "bgcolor", "border", "cellpadding", "cellspacing", "color", "colspan", "dir", "face",
    "height", "href", "lang", "rowspan", "size", "src", "style", "title", "valign", "width", "role",
}  # fmt: skip
URL_SCHEMES = ("https://", "http://", "mailto:", "tel:")
IMAGE_SCHEMES = ("https://", "http://", "data:image/png;base64,", "data:image/jpeg;base64,")
PLACEHOLDER = "\x00"  # what a {{ value }} stands for while the HTML around it is checked
_CSS_WIDTH = re.compile(r"(?:^|;)\s*(?:min-|max-)?width\s*:\s*([0-9.]+)\s*px", re.I)
_CSS_REMOTE = re.compile(r"url\s*\(|@import|expression\s*\(|behavior\s*:|-moz-binding", re.I)

# Filters a template may apply to a placeholder; none of them can produce markup.
ALLOWED_FILTERS = {
    "default",
    "upper",
    "lower",
    "title",
    "truncatechars",
    "first",
    "last",
    "length",
    "urlencode",
}
# Names a template may use, with what they hold (shown in the editor).
PLACEHOLDERS = (
    "name", "first_name", "last_name", "title", "department", "company", "office", "address", "email",
    "phone", "phone_tel", "mobile", "mobile_tel", "phones", "website", "links", "photo_url", "logo_url", "card_url", "qr_url",
    "organisation",
)  # fmt: skip


def _message(kind: str, detail: str = "") -> str:
    messages = {
        "script": _("Scripts are not allowed in a signature: mail clients remove them."),
        "handler": _("Event handlers (%(name)s) are not allowed in a signature: mail clients remove them."),
        "stylesheet": _(
            "Stylesheets (<style>, <link>) are not allowed in a signature: use inline style attributes."
        ),
        "form": _("Forms and their fields are not allowed in a signature."),
        "frame": _("Embedded content (%(name)s) is not allowed in a signature."),
        "document": _("A signature is a fragment: remove the <%(name)s> element."),
        "tag": _("The <%(name)s> element is not email-safe: use tables, paragraphs, links and images."),
        "attribute": _("The attribute %(name)s is not allowed in a signature."),
        "url": _("The link %(name)s is not allowed: use https:, http:, mailto: or tel: addresses."),
        "image": _("The image %(name)s is not allowed: images must come from an https: address."),
        "css": _("The style %(name)s loads something from elsewhere: only plain inline styles are allowed."),
        "width": _("The signature is %(name)s px wide: at most 600 px fit every reading pane."),
        "long": _(
            "The signature takes %(name)s characters once rendered: Gmail refuses more than 10,000. "
            "Shorten the template."
        ),
        "syntax": _("The template cannot be read: %(name)s"),
        "tag_tpl": _("Only placeholders ({{ name }}), {%% if %%} and {%% for %%} are allowed, not %(name)s."),
        "placeholder": _("Unknown placeholder: %(name)s."),
        "filter": _("The filter %(name)s is not allowed in a signature."),
        "empty": _("The template is empty."),
    }
    return messages[kind] % {"name": detail}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []

    def _refuse(self, kind: str, detail: str = ""):
        message = _message(kind, detail)
        if message not in self.errors:
            self.errors.append(message)

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self._refuse(FORBIDDEN_TAGS[tag], tag)
            return
        if tag not in ALLOWED_TAGS:
            self._refuse("tag", tag)
        for name, value in attrs:
            self._attribute(tag, name, value or "")

    handle_startendtag = handle_starttag

    def _attribute(self, tag: str, name: str, value: str):
        if value.strip().startswith(PLACEHOLDER) and name in ("href", "src"):
            return  # checked again once rendered, with the member's value in place
        stripped = re.sub(r"[\x01-\x20]", "", value).lower()
        if name.startswith("on"):
            self._refuse("handler", name)
        elif name not in ALLOWED_ATTRIBUTES:
            self._refuse("attribute", name)
        elif name == "href" and not stripped.startswith(URL_SCHEMES):
            self._refuse("url", value[:60])
        elif name == "src" and not stripped.startswith(IMAGE_SCHEMES):
            self._refuse("image", value[:60])
        elif name == "width" and stripped.rstrip("px").isdigit() and int(stripped.rstrip("px")) > MAX_WIDTH:
            self._refuse("width", stripped.rstrip("px"))
        elif name == "style":
            if _CSS_REMOTE.search(value):
                self._refuse("css", value[:60])
            for width in _CSS_WIDTH.findall(value):
                if float(width) > MAX_WIDTH:
                    self._refuse("width", width)


def html_errors(html: str, checker: "Checker | None" = None) -> list[str]:
    """Every rule the HTML breaks, as messages; [] when it is email-safe. A subclass of the checker may
    read the HTML in the same pass (the plain-text version does)."""
    checker = checker or Checker()
    checker.feed(html)
    checker.close()
    if len(html) > MAX_CHARS:
        checker.errors.append(_message("long", number_format(len(html), force_grouping=True)))
    return checker.errors


_TAG = re.compile(r"\{%-?\s*(\w+)")
TEMPLATE_TAGS = {"if", "elif", "else", "endif", "for", "empty", "endfor"}
ENGINE = Engine(autoescape=True, string_if_invalid="", debug=False, libraries={})


def _template_errors(nodelist, names: set[str], errors: list[str]) -> None:
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            _variable_errors(node.filter_expression, names, errors)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    for variable in _condition_variables(condition):
                        _variable_errors(variable, names, errors)
                _template_errors(body, names, errors)
        elif isinstance(node, ForNode):
            _variable_errors(node.sequence, names, errors)
            _template_errors(node.nodelist_loop, names | set(node.loopvars) | {"forloop"}, errors)
            _template_errors(node.nodelist_empty, names, errors)
        else:
            errors.append(_message("tag_tpl", (getattr(node, "token", None) and node.token.contents) or "?"))


def _condition_variables(condition):
    """The filter expressions of an {% if %} condition tree."""
    if hasattr(condition, "value") and hasattr(condition.value, "resolve"):
        yield condition.value
    for side in ("first", "second"):
        part = getattr(condition, side, None)
        if part is not None:
            yield from _condition_variables(part)


def _variable_errors(expression, names: set[str], errors: list[str]) -> None:
    variable = getattr(expression, "var", None)
    lookups = getattr(variable, "lookups", None)
    if lookups and lookups[0] not in names:
        message = _message("placeholder", lookups[0])
        if message not in errors:
            errors.append(message)
    for func, _args in getattr(expression, "filters", ()):
        if func.__name__ not in ALLOWED_FILTERS:
            errors.append(_message("filter", func.__name__))


def template_compile(source: str):
    """The Django template of a signature, refused (ValidationError on "html") if it breaks a rule."""
    if not source.strip():
        raise ValidationError({"html": [_message("empty")]})
    for tag in _TAG.findall(source):
        if tag not in TEMPLATE_TAGS:
            raise ValidationError({"html": [_message("tag_tpl", tag)]})
    try:
        compiled = ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError({"html": [_message("syntax", str(error))]}) from None
    errors: list[str] = []
    _template_errors(compiled.nodelist, set(PLACEHOLDERS), errors)
    # The HTML around the placeholders, with each {{ value }} standing in as one opaque token.
    skeleton = re.sub(r"\{\{.*?\}\}", PLACEHOLDER, source, flags=re.S)
    skeleton = re.sub(r"\{%.*?%\}", "", skeleton, flags=re.S)
    errors += html_errors(skeleton)
    if errors:
        raise ValidationError({"html": errors})
    return compiled

from django import template
from django.utils.html import format_html

from tessera.core.csrf import FORM_FIELD, form_token_make

register = template.Library()


@register.simple_tag
def signed_form_token():
    """A signed form token, for forms posted to @signed_form_csrf views whether or not a session exists."""
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, form_token_make())

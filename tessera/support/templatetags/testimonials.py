"""`{% published_testimonials 3 %}`: the site's pages show published testimonials without importing support."""

from django import template

from ..testimonial_selectors import testimonials_published

register = template.Library()


@register.inclusion_tag("support/testimonials/_published.html")
def published_testimonials(limit: int = 3) -> dict:
    return {"testimonials": testimonials_published(limit=int(limit))}

"""/scim/v2/: no language prefix, no cookie, no CSRF; the organisation's bearer token is the only credential.

Identity providers differ on a trailing slash, so each route takes one or none; anything else is a SCIM 404.
"""

from django.urls import re_path

from . import views

app_name = "scim"

urlpatterns = [
    re_path(r"^ServiceProviderConfig/?$", views.service_provider_config, name="service_provider_config"),
    re_path(r"^ResourceTypes/?$", views.resource_types, name="resource_types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", views.resource_types, name="resource_type"),
    re_path(r"^Schemas/?$", views.schemas, name="schemas"),
    re_path(r"^Schemas/(?P<urn>[^/]+)/?$", views.schemas, name="schema"),
    re_path(r"^Users/?$", views.users, name="users"),
    re_path(r"^Users/(?P<scim_id>[^/]+)/?$", views.user, name="user"),
    re_path(r"^Groups/?$", views.groups, name="groups"),
    re_path(r"^Groups/(?P<scim_id>[^/]+)/?$", views.group, name="group"),
    re_path(r"^.*$", views.unknown, name="unknown"),
]

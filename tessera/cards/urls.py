from django.urls import path

from . import integration_views, member_views, views

app_name = "cards"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.card_new, name="card_new"),
    path("card/<slug:slug>/", views.card_detail, name="card_detail"),
    path("card/<slug:slug>/edit/", views.card_edit, name="card_edit"),
    path("card/<slug:slug>/photo/remove/", views.card_photo_remove, name="card_photo_remove"),
    path("card/<slug:slug>/active/", views.card_active, name="card_active"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/export.csv", views.lead_export, name="lead_export"),
    path("leads/<uuid:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<uuid:pk>/delete/", views.lead_delete, name="lead_delete"),
    path("org/new/", views.organisation_new, name="org_new"),
    path("org/<slug:org_slug>/", views.org_dashboard, name="org_dashboard"),
    path("org/<slug:org_slug>/settings/", views.org_settings, name="org_settings"),
    path("org/<slug:org_slug>/invite/", views.org_invite, name="org_invite"),
    path("org/<slug:org_slug>/import/", views.org_import, name="org_import"),
    path("org/<slug:org_slug>/import/confirm/", views.org_import_confirm, name="org_import_confirm"),
    path("org/<slug:org_slug>/templates/new/", views.org_template, name="org_template_new"),
    path("org/<slug:org_slug>/templates/<int:pk>/", views.org_template, name="org_template"),
    path("org/<slug:org_slug>/cards/<slug:slug>/", views.org_card, name="org_card"),
    path("org/<slug:org_slug>/leads/", views.org_leads, name="org_leads"),
    path("org/<slug:org_slug>/members/", member_views.org_members, name="org_members"),
    path("org/<slug:org_slug>/members/<int:pk>/role/", member_views.org_member_role, name="org_member_role"),
    path(
        "org/<slug:org_slug>/members/<int:pk>/remove/",
        member_views.org_member_remove,
        name="org_member_remove",
    ),
    path("org/<slug:org_slug>/transfer/", member_views.org_transfer, name="org_transfer"),
    path("org/<slug:org_slug>/leave/", member_views.org_leave, name="org_leave"),
    path(
        "org/<slug:org_slug>/integrations/",
        integration_views.org_integrations,
        name="org_integrations",
    ),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]

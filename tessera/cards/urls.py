from django.urls import path

from .views import dashboard, dpa, integrations, members

app_name = "cards"

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("new/", dashboard.card_new, name="card_new"),
    path("card/<slug:slug>/", dashboard.card_detail, name="card_detail"),
    path("card/<slug:slug>/edit/", dashboard.card_edit, name="card_edit"),
    path("card/<slug:slug>/photo/remove/", dashboard.card_photo_remove, name="card_photo_remove"),
    path("card/<slug:slug>/active/", dashboard.card_active, name="card_active"),
    path("leads/", dashboard.lead_list, name="lead_list"),
    path("leads/export.csv", dashboard.lead_export, name="lead_export"),
    path("leads/<uuid:pk>/", dashboard.lead_detail, name="lead_detail"),
    path("leads/<uuid:pk>/delete/", dashboard.lead_delete, name="lead_delete"),
    path("org/new/", dashboard.organisation_new, name="org_new"),
    path("org/<slug:org_slug>/", dashboard.org_dashboard, name="org_dashboard"),
    path("org/<slug:org_slug>/settings/", dashboard.org_settings, name="org_settings"),
    path("org/<slug:org_slug>/settings/dpa/", dpa.org_dpa, name="org_dpa"),
    path("org/<slug:org_slug>/invite/", dashboard.org_invite, name="org_invite"),
    path("org/<slug:org_slug>/import/", dashboard.org_import, name="org_import"),
    path("org/<slug:org_slug>/import/confirm/", dashboard.org_import_confirm, name="org_import_confirm"),
    path("org/<slug:org_slug>/templates/new/", dashboard.org_template, name="org_template_new"),
    path("org/<slug:org_slug>/templates/<int:pk>/", dashboard.org_template, name="org_template"),
    path("org/<slug:org_slug>/cards/<slug:slug>/", members.org_card, name="org_card"),
    path("org/<slug:org_slug>/leads/", dashboard.org_leads, name="org_leads"),
    path("org/<slug:org_slug>/members/", members.org_members, name="org_members"),
    path("org/<slug:org_slug>/members/<int:pk>/role/", members.org_member_role, name="org_member_role"),
    path(
        "org/<slug:org_slug>/members/<int:pk>/remove/",
        members.org_member_remove,
        name="org_member_remove",
    ),
    path("org/<slug:org_slug>/transfer/", members.org_transfer, name="org_transfer"),
    path("org/<slug:org_slug>/leave/", members.org_leave, name="org_leave"),
    path(
        "org/<slug:org_slug>/integrations/",
        integrations.org_integrations,
        name="org_integrations",
    ),
    path("invitation/<str:token>/", dashboard.invitation_accept, name="invitation_accept"),
]

from django.urls import path

from .views import connect, groups, microsoft, page, scim

app_name = "directory"

ORG = "cards/org/<slug:org_slug>/directory/"

urlpatterns = [
    path(ORG, page.integration, name="integration"),
    path(f"{ORG}runs/<int:run_id>/status.json", page.run_status, name="run_status"),
    path(f"{ORG}google/connect/", connect.google_connect, name="google_connect"),
    path(f"{ORG}google/disconnect/", connect.google_disconnect, name="google_disconnect"),
    path(f"{ORG}microsoft/connect/", connect.microsoft_connect, name="microsoft_connect"),
    path(f"{ORG}microsoft/disconnect/", connect.microsoft_disconnect, name="microsoft_disconnect"),
    path(f"{ORG}microsoft/settings/", microsoft.settings_save, name="settings_save"),
    path(f"{ORG}microsoft/groups/", microsoft.groups_save, name="groups_save"),
    path(f"{ORG}microsoft/groups/new/", groups.create, name="group_create"),
    path(f"{ORG}microsoft/groups/<int:group_id>/", groups.detail, name="group"),
    path(f"{ORG}microsoft/groups/<int:group_id>/rename/", groups.rename, name="group_rename"),
    path(f"{ORG}microsoft/groups/<int:group_id>/members/add/", groups.member_add, name="group_member_add"),
    path(
        f"{ORG}microsoft/groups/<int:group_id>/members/<int:member_id>/remove/",
        groups.member_remove,
        name="group_member_remove",
    ),
    path(f"{ORG}microsoft/writebacks/retry/", groups.writebacks_retry, name="writebacks_retry"),
    path(f"{ORG}microsoft/dry-run/", microsoft.dry_run_start, name="dry_run_start"),
    path(f"{ORG}microsoft/dry-run/<int:run_id>/", page.dry_run, name="dry_run"),
    path(f"{ORG}microsoft/dry-run/<int:run_id>/confirm/", microsoft.dry_run_confirm, name="dry_run_confirm"),
    path(f"{ORG}microsoft/sync/", microsoft.sync_now, name="sync_now"),
    path(f"{ORG}scim/token/", scim.token_rotate, name="scim_token_rotate"),
    path(f"{ORG}scim/token/revoke/", scim.token_revoke, name="scim_token_revoke"),
    # The addresses registered with Google and Microsoft: one per provider, whatever the organisation.
    path("directory/google/callback/", connect.google_callback, name="google_callback"),
    path("directory/microsoft/callback/", connect.microsoft_callback, name="microsoft_callback"),
]

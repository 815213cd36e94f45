from django.urls import path

from .views import admin, member, push

app_name = "signatures"

ORG = "cards/org/<slug:org_slug>/signatures/"
MINE = "cards/signature/<slug:org_slug>/"

urlpatterns = [
    path(ORG, admin.signatures, name="signatures"),
    path(f"{ORG}new/", admin.template_edit, name="template_new"),
    path(f"{ORG}<int:pk>/", admin.template_edit, name="template"),
    path(f"{ORG}<int:pk>/delete/", admin.template_delete, name="template_delete"),
    path(f"{ORG}preview/", admin.preview, name="preview"),
    path(f"{ORG}outlook.zip", admin.outlook, name="outlook"),
    path(f"{ORG}export.json", admin.export, name="export"),
    path(f"{ORG}push/", push.push, name="push"),
    path(f"{ORG}push/<int:pk>/", push.push_run, name="push_run"),
    path(f"{ORG}push/<int:pk>/status.json", push.push_status, name="push_status"),
    path(f"{ORG}push/<int:pk>/cancel/", push.push_cancel, name="push_cancel"),
    path(MINE, member.mine, name="mine"),
    path(f"{MINE}frame/", member.mine_frame, name="mine_frame"),
    path(f"{MINE}signature.htm", member.mine_download, name="mine_download"),
]

from django.urls import path, re_path

from . import complaint_views, views

app_name = "support"

urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/prefill/", views.contact_prefill, name="contact_prefill"),
    path("contact/t/<str:public_id>", views.thread, name="thread"),
    path("admin/support/desk/", views.desk_queue, name="desk"),
    path("admin/support/desk/<int:pk>/", views.desk_ticket, name="desk_ticket"),
    re_path(
        r"^admin/support/desk/(?P<pk>[0-9]+)/(?P<action>reply|update|note)/$",
        views.desk_ticket_act,
        name="desk_ticket_act",
    ),
    path("accounts/complaints/", complaint_views.complaint_list, name="complaints"),
    path("accounts/complaints/new/", complaint_views.complaint_new, name="complaint_new"),
    path("accounts/complaints/<str:public_id>/", complaint_views.complaint_detail, name="complaint"),
    path(
        "accounts/complaints/<str:public_id>/reopen/",
        complaint_views.complaint_reopen,
        name="complaint_reopen",
    ),
    path(
        "accounts/complaints/<str:public_id>/files/<int:pk>/",
        complaint_views.complaint_attachment,
        name="complaint_attachment",
    ),
    path("admin/support/complaints/", complaint_views.desk_complaints, name="desk_complaints"),
    path("admin/support/complaints/<int:pk>/", complaint_views.desk_complaint, name="desk_complaint"),
    path(
        "admin/support/complaints/<int:pk>/files/<int:attachment_id>/",
        complaint_views.desk_complaint_attachment,
        name="desk_complaint_attachment",
    ),
    re_path(
        r"^admin/support/complaints/(?P<pk>[0-9]+)/(?P<action>answer|update)/$",
        complaint_views.desk_complaint_act,
        name="desk_complaint_act",
    ),
]

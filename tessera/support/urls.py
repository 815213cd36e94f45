from django.urls import path, re_path

from . import views

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
]

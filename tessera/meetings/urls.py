from django.urls import path

from . import views

app_name = "meetings"

# `/m/<room-id>` is a join link, served by the room (its urls come after these, in tessera/urls.py):
# fixed words come first so that no room id can shadow them.
urlpatterns = [
    path("m/new/", views.event_create, name="create"),
    path("m/now/", views.event_instant, name="instant"),
    path("m/manage/<str:public_id>", views.manage, name="manage"),
    path("m/<str:room_id>/status", views.link_status, name="link_status"),
]

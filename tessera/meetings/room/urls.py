from django.urls import path

from . import views

app_name = "meetings_room"

# Included after meetings' urls, whose fixed words under m/ must not be shadowed by a room id.
urlpatterns = [
    path("room/sw.js", views.service_worker, name="service_worker"),
    path("room/manifest.webmanifest", views.manifest, name="manifest"),
    path("room/<str:room_id>", views.room, name="room"),
    path("m/<str:room_id>", views.join, name="join"),
]

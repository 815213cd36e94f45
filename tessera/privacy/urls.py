from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.policy, name="policy"),
    path("register.json", views.register_json, name="register_json"),
    path("register.csv", views.register_csv_view, name="register_csv"),
    path("rights/", views.rights, name="rights"),
    path("rights/link/<str:token>/", views.rights_link, name="rights_link"),
    path("rights/act/<str:action>/", views.rights_act, name="rights_act"),
    path("rights/directive/<str:token>/", views.directive_export, name="directive_export"),
    path("account/", views.account_rights, name="account_rights"),
    path("account/act/<str:action>/", views.account_rights_act, name="account_rights_act"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "tessera.site"
    label = "tessera_site"
    verbose_name = "Site"

from django.conf import settings
from django.urls import translate_url
from django.utils import translation


def tessera(request):
    current = translation.get_language() or settings.LANGUAGE_CODE
    switch = [
        {
            "code": code,
            "name": name,
            "url": translate_url(request.get_full_path(), code),
            "current": code == current,
        }
        for code, name in settings.LANGUAGES
    ]
    return {"operator": settings.TESSERA_OPERATOR, "language_switch": switch}

"""Which language a request is answered in, after LocaleMiddleware has read the browser's choice.

A signed-in user's saved language comes first; without one, LocaleMiddleware's pick stands (the
language a visitor chose with the switcher, else Accept-Language, else English). The API answers
in English whatever the request says: its messages are the same for every client."""
from django.utils import translation

API_PREFIX = "/api/"


def language_of(user):
    """The user's saved language, or "" when they have none (or are not signed in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return getattr(user, "language", "") or ""


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            language = "en"
        else:
            language = language_of(getattr(request, "user", None))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)

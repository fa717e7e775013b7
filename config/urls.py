from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import set_language
from licensing.urls import download_urlpatterns
from licensing.views import home

urlpatterns = [
    # Downloads first: a training pipeline asks for them thousands of times a minute, and each pattern
    # tried before a match costs every one of those requests.
    path("", include(download_urlpatterns)),
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.svg"))),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # The same address and name as Django's own switch, which it wraps to save a signed-in user's choice.
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("organisation/", include("accounts.urls")),
    path("api/v1/", include("licensing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (/api/docs/?script),
    # so the docs run under the same policy as every page: no inline script, no relaxation.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
         name="api-docs"),
    path("", include("licensing.urls")),
]

# Under /api/v1/ a refused or crashed request answers JSON like every API error; elsewhere Django's pages.
handler400 = "licensing.api.errors.bad_request"
handler500 = "licensing.api.errors.server_error"

from django.contrib import admin
from django.urls import include, path

from licensing.views import home

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("organisation/", include("accounts.urls")),
    path("", include("licensing.urls")),
]

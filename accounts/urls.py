from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("new/", views.organisation_create, name="organisation_create"),
    path("", views.organisation_detail, name="organisation_detail"),
    path("invite/", views.invitation_create, name="invitation_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]

from django.urls import path

from licensing.views import licences, review

urlpatterns = [
    path("licences/", licences.dashboard, name="licence_dashboard"),
    path("licences/apply/", licences.apply, name="licence_apply"),
    path("licences/<int:pk>/", licences.detail, name="licence_detail"),
    path("licences/<int:pk>/edit/", licences.edit, name="licence_edit"),
    path("licences/<int:pk>/<slug:action>/", licences.act, name="licence_act"),
    path("review/", review.applications, name="review_applications"),
    path("review/upgrades/", review.upgrades, name="review_upgrades"),
    path("review/all/", review.all_licences, name="review_all"),
]

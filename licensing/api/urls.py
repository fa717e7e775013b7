from django.urls import path, re_path

from licensing.api import views

app_name = "api"
urlpatterns = [
    path("licences/", views.LicenceList.as_view(), name="licence-list"),
    path("licences/<int:pk>/", views.LicenceDetail.as_view(), name="licence-detail"),
    path("licences/<int:pk>/terms.jsonld", views.LicenceTerms.as_view(), name="licence-terms"),
    path("licences/<int:pk>/slices/", views.LicenceSlices.as_view(), name="licence-slices"),
    path("slices/<int:pk>/", views.SliceDetail.as_view(), name="slice-detail"),
    path("slices/<int:pk>/items/", views.SliceItems.as_view(), name="slice-items"),
    path("slices/<int:pk>/<str:fmt>", views.SliceManifest.as_view(), name="slice-manifest"),
    path("invoices/", views.InvoiceList.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetail.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/pdf", views.InvoicePdf.as_view(), name="invoice-pdf"),
    re_path(r"^(?P<path>[\s\S]*)$", views.unknown_endpoint, name="unknown-endpoint"),  # newlines too
]

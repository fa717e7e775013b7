from django.urls import path, re_path

from licensing.api import delivery, views, webhooks

app_name = "api"
urlpatterns = [
    path("licences/", views.LicenceList.as_view(), name="licence-list"),
    path("licences/<int:pk>/", views.LicenceDetail.as_view(), name="licence-detail"),
    path("licences/<int:pk>/terms.jsonld", views.LicenceTerms.as_view(), name="licence-terms"),
    path("licences/<int:pk>/slices/", views.LicenceSlices.as_view(), name="licence-slices"),
    path("licences/<int:pk>/withdrawals/", delivery.LicenceWithdrawals.as_view(), name="licence-withdrawals"),
    path("slices/<int:pk>/", views.SliceDetail.as_view(), name="slice-detail"),
    path("slices/<int:pk>/shards/", delivery.SliceShards.as_view(), name="slice-shards"),
    path("slices/<int:pk>/items/", views.SliceItems.as_view(), name="slice-items"),
    path("slices/<int:pk>/<str:fmt>", views.SliceManifest.as_view(), name="slice-manifest"),
    path("models/", views.ModelList.as_view(), name="model-list"),
    path("models/<int:pk>/", views.ModelDetail.as_view(), name="model-detail"),
    path("models/<int:pk>/versions/", views.ModelVersions.as_view(), name="model-versions"),
    path("models/<int:pk>/versions/<int:version_id>/", views.ModelVersionDetail.as_view(),
         name="model-version-detail"),
    path("models/<int:pk>/versions/<int:version_id>/declarations/", views.ModelVersionDeclarations.as_view(),
         name="model-version-declarations"),
    path("models/<int:pk>/versions/<int:version_id>/release/", views.ModelVersionRelease.as_view(),
         name="model-version-release"),
    path("models/<int:pk>/versions/<int:version_id>/eu-summary.json", views.ModelVersionEuSummary.as_view(),
         name="model-version-eu-summary"),
    path("models/<int:pk>/versions/<int:version_id>/README.md", views.ModelVersionCard.as_view(),
         name="model-version-card"),
    path("models/<int:pk>/versions/<int:version_id>/usage-reports/", views.UsageReports.as_view(),
         name="usage-reports"),
    path("models/<int:pk>/versions/<int:version_id>/usage-reports/<int:report_id>/", views.UsageReportDetail.as_view(),
         name="usage-report-detail"),
    path("invoices/", views.InvoiceList.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetail.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/pdf", views.InvoicePdf.as_view(), name="invoice-pdf"),
    path("webhooks/", webhooks.WebhookEndpoints.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", webhooks.WebhookEndpointDetail.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/rotate-secret/", webhooks.WebhookSecretRotation.as_view(), name="webhook-rotate"),
    path("webhooks/<int:pk>/deliveries/", webhooks.WebhookDeliveries.as_view(), name="webhook-deliveries"),
    path("webhooks/<int:pk>/deliveries/<int:delivery_id>/replay/", webhooks.WebhookReplay.as_view(),
         name="webhook-replay"),
    re_path(r"^(?P<path>[\s\S]*)$", views.unknown_endpoint, name="unknown-endpoint"),  # newlines too
]

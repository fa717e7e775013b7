from django.urls import path

from licensing.views import billing, licences, review, slices

urlpatterns = [
    path("licences/", licences.dashboard, name="licence_dashboard"),
    path("licences/apply/", licences.apply, name="licence_apply"),
    path("licences/<int:pk>/", licences.detail, name="licence_detail"),
    path("licences/<int:pk>/edit/", licences.edit, name="licence_edit"),
    path("licences/<int:pk>/terms.jsonld", licences.terms, name="licence_terms"),
    path("licences/<int:pk>/offer.jsonld", licences.terms, {"offer": True}, name="licence_offer_terms"),
    path("licences/<int:pk>/slices/", slices.request_slice, name="slice_request"),
    path("licences/<int:pk>/<slug:action>/", licences.act, name="licence_act"),
    path("slices/<int:pk>/", slices.slice_detail, name="slice_detail"),
    path("slices/<int:pk>/<str:fmt>", slices.manifest, name="slice_manifest"),
    path("dl/<str:token>/assets/<int:asset_id>", slices.download, name="slice_download"),
    path("dl/<str:token>/<str:fmt>", slices.signed_manifest, name="slice_signed_manifest"),
    path("invoices/<int:pk>/pdf", billing.invoice_pdf, name="invoice_pdf"),
    path("finance/invoices/", billing.invoice_list, name="finance_invoices"),
    path("finance/invoices/<int:pk>/", billing.invoice_detail, name="finance_invoice_detail"),
    path("finance/invoices/<int:pk>/payments/", billing.payment_create, name="finance_payment_create"),
    path("finance/invoices/<int:pk>/credit-notes/", billing.credit_note_create, name="finance_credit_note_create"),
    path("finance/export.csv", billing.export_csv, name="finance_export"),
    path("review/", review.applications, name="review_applications"),
    path("review/upgrades/", review.upgrades, name="review_upgrades"),
    path("review/all/", review.all_licences, name="review_all"),
]

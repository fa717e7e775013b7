"""Licence pages for applicants and staff: thin, they ask the selectors and call the services."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.roles import FINANCE, LICENSOR_ADMIN, has_role, roles_of
from licensing import workflow
from licensing.forms.licences import (
    ACTION_PAGES,
    ApplicationForm,
    ApproveForm,
    VersionedForm,
)
from licensing.forms.slices import SliceRequestForm
from licensing.models import Contributor, LicencePhase, LicenceState
from licensing.selectors.billing import invoices_visible_to
from licensing.selectors.licences import licence_visible_to, licences_visible_to
from licensing.selectors.timeline import KINDS as TIMELINE_KINDS
from licensing.selectors.timeline import licence_timeline, licence_work_pending
from licensing.services import licences as services
from licensing.terms import TermsNotAvailable, licence_offer_terms, licence_terms
from licensing.workflow import LicenceActionRefused

NEXT_STEPS = {
    LicenceState.DRAFT: gettext_lazy("Finish the application and submit it for review."),
    LicenceState.SUBMITTED: gettext_lazy("Waiting for a reviewer."),
    LicenceState.CHANGES_REQUESTED: gettext_lazy("A reviewer asked for changes: edit the application and submit it again."),
    LicenceState.RESEARCH_ACTIVE: gettext_lazy("Request data slices. When your product is ready, ask for a commercial licence."),
    LicenceState.UPGRADE_REQUESTED: gettext_lazy("Waiting for the licensor's commercial offer."),
    LicenceState.UPGRADE_OFFERED: gettext_lazy("Read the commercial offer and accept it."),
    LicenceState.AWAITING_PAYMENT: gettext_lazy("Pay the invoice: the licence becomes commercial when it is paid."),
    LicenceState.COMMERCIAL_ACTIVE: gettext_lazy("Commercial licence active."),
    LicenceState.SUSPENDED: gettext_lazy("Suspended: contact the licensor."),
}


@login_required
def dashboard(request):
    if not hasattr(request.user, "membership"):
        if roles_of(request.user) or Contributor.objects.filter(user=request.user).exists():
            return redirect("home")  # licensor staff and contributors have their own places there
        return redirect("accounts:organisation_create")
    licences = list(licences_visible_to(user=request.user).filter(organisation=request.user.membership.organisation))
    for licence in licences:
        licence.next_step = NEXT_STEPS.get(licence.state, "")
    return render(request, "apply/dashboard.html", {"licences": licences})


@login_required
def apply(request):
    membership = getattr(request.user, "membership", None)
    if membership is None:
        return redirect("accounts:organisation_create")
    submitting = request.POST.get("intent") == "submit"
    form = ApplicationForm(request.POST or None, draft=not submitting)
    if request.method == "POST" and form.is_valid():
        application, accepted = form.application()
        licence = services.licence_create_draft(
            organisation=membership.organisation, by=request.user, accept_terms=accepted, **application
        )
        return _after_save(request, licence, submitting)
    return render(request, "apply/form.html", {"form": form, "licence": None})


@login_required
def edit(request, pk):
    licence = licence_visible_to(user=request.user, pk=pk)
    if "applicant" not in workflow.actor_kinds(request.user, licence):
        raise Http404
    submitting = request.POST.get("intent") == "submit"
    form = ApplicationForm(
        request.POST or None, instance=licence, draft=not submitting,
        terms_already_accepted=licence.terms_accepted_at is not None,
    )
    if request.method == "POST" and form.is_valid():
        application, accepted = form.application()
        try:
            services.licence_update_application(
                licence=licence, by=request.user, expected_version=_posted_version(request),
                accept_terms=accepted, **application,
            )
        except LicenceActionRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("licence_detail", pk=licence.pk)
        return _after_save(request, licence, submitting)
    return render(request, "apply/form.html", {"form": form, "licence": licence})


def _posted_version(request):
    """The version the edited page showed; one that is not a number came from no page of ours, and
    is answered as a stale page is (versions start at 1)."""
    if request.POST.get("version") is None:
        return None
    stamp = VersionedForm(request.POST)
    return stamp.cleaned_data["version"] if stamp.is_valid() else 0


def _after_save(request, licence, submitting):
    if not submitting:
        messages.success(request, _("Draft saved."))
        return redirect("licence_detail", pk=licence.pk)
    try:
        services.licence_submit(licence=licence, by=request.user)
    except LicenceActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Application submitted. A reviewer will look at it shortly."))
    return redirect("licence_detail", pk=licence.pk)


def _action_forms(licence, user, bound=None):
    forms = []
    for action in workflow.available_actions(licence, user):
        page = ACTION_PAGES.get(action)
        if page is None:
            continue
        form_class = page.form
        if bound is not None and bound[0] == action:
            form = bound[1]
        else:
            initial = {"version": licence.version}
            if form_class is ApproveForm:
                initial.update(ApproveForm.defaults(licence))
            form = form_class(initial=initial, prefix=action)
        transition = workflow.TABLE[action]
        forms.append({"action": action, "form": form, "button": page.button, "label": transition.label,
                      "primary": page.primary, "danger": page.danger})
    # What the person most likely came to do comes first and unfolded; the rest wait folded below.
    return sorted(forms, key=lambda item: not item["primary"])


def _live_context(request, licence):
    """What the part of the licence page that follows background work shows."""
    show = request.GET.get("show", "all")
    show = show if show in TIMELINE_KINDS else "all"
    context = {
        "licence": licence,
        "timeline": licence_timeline(licence=licence, kind=show),
        "timeline_kinds": TIMELINE_KINDS,
        "timeline_show": show,
        "work_pending": licence_work_pending(licence=licence),
    }
    context["panels"] = [panel for panel in (extend(request, licence) for extend in _panels()) if panel]
    return context


@login_required
def live(request, pk):
    """The licence page's live part (htmx): invoices, state and timeline while a job works for the licence."""
    licence = licence_visible_to(user=request.user, pk=pk)
    return render(request, "licences/_live_response.html", _live_context(request, licence))


@login_required
def detail(request, pk, bound=None, status=200):
    licence = licence_visible_to(user=request.user, pk=pk)
    context = {
        **_live_context(request, licence),
        "open_invoice": invoices_visible_to(user=request.user).filter(
            licence=licence, status="issued", kind="invoice").order_by("-issued_at").first(),
        "action_forms": _action_forms(licence, request.user, bound),
        "is_applicant": "applicant" in workflow.actor_kinds(request.user, licence),
        "next_step": NEXT_STEPS.get(licence.state, ""),
        "payment_terms_days": settings.PAYMENT_TERMS_DAYS,
        "can_edit": licence.state in (LicenceState.DRAFT, LicenceState.CHANGES_REQUESTED)
        and "applicant" in workflow.actor_kinds(request.user, licence),
    }
    return render(request, "licences/detail.html", context, status=status)


# Other parts of the product (slices, billing) add their panels to the licence page:
# callables (request, licence) -> {"template": ..., **context} or None.
def _panels():
    return [billing_panel, slice_panel]


@login_required
@require_http_methods(["GET", "POST"])
def act(request, pk, action):
    licence = licence_visible_to(user=request.user, pk=pk)
    if request.method == "GET":  # a reload or bookmark of a form that was answered here: back to the licence
        return redirect("licence_detail", pk=licence.pk)
    page = ACTION_PAGES.get(action)
    if page is None:
        raise Http404
    form = page.form(request.POST, prefix=action)
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return detail(request, pk, bound=(action, form), status=400)
    kwargs = form.service_kwargs() if hasattr(form, "service_kwargs") else {
        key: value for key, value in form.cleaned_data.items() if key != "version"
    }
    try:
        services.SERVICES[action](licence=licence, by=request.user, expected_version=form.cleaned_data["version"], **kwargs)
    except LicenceActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("licence_detail", pk=licence.pk)
    messages.success(request, page.done)  # the state badge beside it shows where the licence is now
    return redirect("licence_detail", pk=licence.pk)


@login_required
def terms(request, pk, offer=False):
    """The licence's terms as ODRL 2.2 JSON-LD: the agreement in force, or the open commercial offer."""
    licence = licence_visible_to(user=request.user, pk=pk)
    try:
        policy = licence_offer_terms(licence) if offer else licence_terms(licence)
    except TermsNotAvailable as missing:
        return JsonResponse({"error": {"code": "no_terms", "message": str(missing)}}, status=404)
    return JsonResponse(policy, content_type="application/ld+json", json_dumps_params={"indent": 2})


def slice_panel(request, licence):
    """The slices part of the licence page."""
    if licence.phase == LicencePhase.APPLICATION:
        return None
    is_applicant = "applicant" in workflow.actor_kinds(request.user, licence)
    can_request = is_applicant and licence.state in workflow.ACTIVE
    bound = getattr(request, "bound_slice_form", None)
    return {
        "template": "slices/_panel.html",
        "slices": licence.slices.all()[:50],
        "slice_form": (bound or SliceRequestForm(prefix="slice")) if can_request else None,
    }


def billing_panel(request, licence):
    invoices = list(invoices_visible_to(user=request.user).filter(licence=licence).prefetch_related(
        "payments", "credit_notes"))
    if not invoices:
        return None
    return {"template": "billing/_panel.html", "invoices": invoices, "live": True,
            "is_finance": has_role(request.user, FINANCE, LICENSOR_ADMIN)}

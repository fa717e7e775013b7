"""AI model pages: the licensee's (register a model, add versions, declare what trained them, release,
answer the EU AI Act summary), staff's overview, and the public model page with its JSON-LD."""
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import is_staff_member
from licensing.documents.ai_models import answer_text, render_eu_summary_pdf
from licensing.forms.ai_models import (
    AIModelForm,
    DeclarationForm,
    EuSummaryForm,
    ModelVersionForm,
    ReleaseForm,
)
from licensing.forms.attribution import UsageReportForm
from licensing.manifests.http import version_card_response
from licensing.selectors.attribution import reports_of_version
from licensing.selectors.ai_models import (
    declarable_slices,
    declarations_of,
    eu_summary,
    eu_summary_suggestions,
    model_jsonld,
    model_page_path,
    model_visible_to,
    models_visible_to,
    public_model,
    public_model_report,
    staff_models,
    version_contributors,
    version_of,
    version_training,
)
from licensing.services.ai_models import (
    ModelRefused,
    ai_model_publish,
    ai_model_register,
    model_version_add,
    model_version_release,
    training_declaration_remove,
    training_declare,
)
from licensing.services.ai_models import eu_summary_answer as eu_summary_save
from licensing.views.access import membership_or_404


def _licensee_model(request, pk):
    """The model, for a member of its organisation; staff may look but not change (403), others 404."""
    model = model_visible_to(user=request.user, pk=pk)
    membership = getattr(request.user, "membership", None)
    if membership is None or membership.organisation_id != model.organisation_id:
        if request.method != "GET":
            raise PermissionDenied(gettext("Only the model's organisation can change it."))
    return model


def _is_owner(request, model):
    membership = getattr(request.user, "membership", None)
    return membership is not None and membership.organisation_id == model.organisation_id


@login_required
def model_list(request):
    if is_staff_member(request.user):
        return render(request, "models/staff_list.html", {"models": staff_models()})
    membership = membership_or_404(request.user)
    models = models_visible_to(user=request.user).prefetch_related("versions")
    return render(request, "models/list.html", {"models": models, "organisation": membership.organisation})


@login_required
@require_http_methods(["GET", "POST"])
def model_register(request):
    membership = membership_or_404(request.user)
    form = AIModelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            model = ai_model_register(organisation=membership.organisation, by=request.user, **form.service_kwargs())
        except ModelRefused as refusal:
            for field, errors in refusal.fields.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, gettext("%(name)s registered: add a version and declare which slices trained it.")
                                      % {"name": model.name})
            return redirect("model_detail", pk=model.pk)
    return render(request, "models/register.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def model_detail(request, pk):
    model = _licensee_model(request, pk)
    form = ModelVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = model_version_add(model=model, by=request.user, **form.service_kwargs())
        except ModelRefused as refusal:
            for field, errors in refusal.fields.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, gettext("Version %(label)s added: declare the slices that trained it.")
                                      % {"label": version.label})
            return redirect("model_version", pk=model.pk, version_pk=version.pk)
    versions = model.versions.order_by("-created_at", "-id")
    return render(request, "models/detail.html", {
        "model": model, "versions": versions, "form": form, "is_owner": _is_owner(request, model),
        "public_path": model_page_path(model) if model.is_public else None,
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def model_publish(request, pk):
    model = _licensee_model(request, pk)
    ai_model_publish(model=model, by=request.user)
    messages.success(request, gettext("%(name)s is public: its page lists what trained each released version.")
                              % {"name": model.name})
    return redirect("model_detail", pk=model.pk)


def _version_page(request, model, version, *, declaration_form=None, release_form=None, status=200):
    training = version_training(version=version)
    declarations = list(declarations_of(version=version))
    active = [d for d in declarations if _not_superseded(d)]
    return render(request, "models/version.html", {
        "model": model, "version": version, "training": training, "declarations": declarations,
        "contributor_count": training["total"]["contributors"],
        "declaration_form": declaration_form or DeclarationForm(
            slices=declarable_slices(model=model), declarations=active),
        "release_form": release_form or ReleaseForm(),
        "is_owner": _is_owner(request, model),
        "staff": is_staff_member(request.user),
        "contributors": version_contributors(version=version)[:50] if is_staff_member(request.user) else None,
        "usage_reports": list(reports_of_version(version=version)[:50]),
        "usage_form": UsageReportForm(),
    }, status=status)


def _not_superseded(declaration):
    try:
        declaration.superseded_by
    except declaration.__class__.superseded_by.RelatedObjectDoesNotExist:
        return True
    return False


@login_required
@require_GET
def version_detail(request, pk, version_pk):
    model = _licensee_model(request, pk)
    return _version_page(request, model, version_of(model=model, pk=version_pk))


@login_required
@require_POST
def version_declare(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    declarations = [d for d in declarations_of(version=version) if _not_superseded(d)]
    form = DeclarationForm(request.POST, request.FILES, slices=declarable_slices(model=model),
                           declarations=declarations)
    if not form.is_valid():
        messages.error(request, gettext("The declaration has errors: see below."))
        return _version_page(request, model, version, declaration_form=form, status=400)
    try:
        declaration = training_declare(version=version, by=request.user, **form.service_kwargs())
    except ModelRefused as refusal:
        messages.error(request, str(refusal))
        form.add_error(None, str(refusal))
        return _version_page(request, model, version, declaration_form=form, status=400)
    what = "the whole slice" if declaration.whole_slice else f"{declaration.item_count:,} items of the slice"
    messages.success(request,
                     gettext("Declared: version %(label)s was trained on %(what)s (slice %(number)s of licence "
                                      "%(licence_id)s).")
                              % {"label": version.label, "what": what, "number": declaration.slice.number,
                                 "licence_id": declaration.slice.licence_id})
    return redirect("model_version", pk=model.pk, version_pk=version.pk)


@login_required
@require_POST
def declaration_remove(request, pk, version_pk, declaration_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    declaration = version.declarations.filter(pk=declaration_pk).first()
    if declaration is None:
        raise Http404("No such declaration.")
    try:
        training_declaration_remove(declaration=declaration, by=request.user)
    except ModelRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, gettext("Declaration removed."))
    return redirect("model_version", pk=model.pk, version_pk=version.pk)


@login_required
@require_POST
def version_release(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        return _version_page(request, model, version, release_form=form, status=400)
    try:
        model_version_release(version=version, by=request.user)
    except ModelRefused as refusal:
        messages.error(request, str(refusal))
        form.add_error(None, str(refusal))
        return _version_page(request, model, version, release_form=form, status=400)
    messages.success(request, f"Version {version.label} released: contributors can see it"
                              + (", and it is on the model's public page." if model.is_public else "."))
    return redirect("model_version", pk=model.pk, version_pk=version.pk)


@login_required
@require_http_methods(["GET", "POST"])
def version_eu_summary(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    training = version_training(version=version)
    form = EuSummaryForm(request.POST or None, answers=version.eu_summary_answers,
                         suggestions=eu_summary_suggestions(version=version, training=training))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                eu_summary_save(version=version, by=request.user, answers=form.answers())
            except ModelRefused as refusal:
                for field, errors in refusal.fields.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, gettext("Your answers are saved: the summary below includes them."))
                return redirect("model_version_eu_summary", pk=model.pk, version_pk=version.pk)
        status = 400
    summary = eu_summary(version=version, training=training)
    sections = []
    for field_id, entry in summary["fields"].items():
        if not sections or sections[-1]["title"] != entry["section"]:
            sections.append({"title": entry["section"], "fields": []})
        sections[-1]["fields"].append({"id": field_id, **entry, "text": answer_text(entry),
                                       "form_field": form[field_id] if field_id in form.fields else None})
    return render(request, "models/eu_summary.html", {
        "model": model, "version": version, "summary": summary, "sections": sections, "form": form,
        "is_owner": _is_owner(request, model),
    }, status=status)


@login_required
@require_GET
def version_eu_summary_json(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    response = JsonResponse(eu_summary(version=version), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'inline; filename="{model.slug}-{version.label}-eu-summary.json"'
    return response


@login_required
@require_GET
def version_eu_summary_pdf(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    response = HttpResponse(render_eu_summary_pdf(eu_summary(version=version)), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{model.slug}-{version.label}-eu-summary.pdf"'
    return response


@login_required
@require_GET
def version_dataset_card(request, pk, version_pk):
    model = _licensee_model(request, pk)
    version = version_of(model=model, pk=version_pk)
    return version_card_response(version)


# --- The public model page ---------------------------------------------------------

def _public(organisation_slug, slug):
    model = public_model(organisation_slug=organisation_slug, slug=slug)
    report = public_model_report(model=model)
    page_url = settings.SITE_URL + reverse("public_model", args=[organisation_slug, slug])
    return model, report, model_jsonld(model=model, report=report, page_url=page_url)


@require_GET
def public_model_page(request, organisation_slug, slug):
    model, report, document = _public(organisation_slug, slug)
    # JSON-LD in a data block: "</" could close the script element early, so it is escaped.
    jsonld = json.dumps(document, ensure_ascii=False).replace("</", "<\\/")
    return render(request, "models/public.html", {"model": model, "report": report, "jsonld": jsonld,
                                                  "licensor_name": settings.LICENSOR_NAME})


@require_GET
def public_model_jsonld(request, organisation_slug, slug):
    _, _, document = _public(organisation_slug, slug)
    response = JsonResponse(document, content_type="application/ld+json",
                            json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from accounts import services
from accounts.api_keys import ApiKeyError, api_key_create, api_key_revoke
from accounts.forms import ApiKeyForm, InvitationForm, OrganisationForm
from accounts.models import Invitation, Membership


@login_required
def organisation_create(request):
    if hasattr(request.user, "membership"):
        return redirect("accounts:organisation_detail")
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(by=request.user, **form.cleaned_data)
        except services.MembershipError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(organisation)s is set up. You can now apply for a research licence.")
                             % {"organisation": organisation})
            return redirect("home")
    return render(request, "accounts/organisation_form.html", {"form": form})


@login_required
def organisation_detail(request):
    membership = getattr(request.user, "membership", None)
    if membership is None:
        return redirect("accounts:organisation_create")
    organisation = membership.organisation
    return render(
        request,
        "accounts/organisation_detail.html",
        {
            "organisation": organisation,
            "is_owner": membership.role == Membership.Role.OWNER,
            "members": organisation.memberships.select_related("user").order_by("created_at"),
            "open_invitations": organisation.invitations.filter(accepted_at__isnull=True),
            "invite_form": InvitationForm(),
        },
    )


@login_required
@require_POST
def invitation_create(request):
    membership = getattr(request.user, "membership", None)
    if membership is None:
        raise Http404
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(by=request.user, organisation=membership.organisation, **form.cleaned_data)
        except services.MembershipError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    else:
        messages.error(request, _("Enter a valid e-mail address to invite."))
    return redirect("accounts:organisation_detail")


@login_required
def invitation_accept(request, token):
    invitation = Invitation.objects.select_related("organisation").filter(token=token).first()
    if invitation is None:
        raise Http404
    if request.method == "POST":
        try:
            organisation = services.invitation_accept(by=request.user, token=token)
        except services.MembershipError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("You have joined %(organisation)s.") % {"organisation": organisation})
            return redirect("home")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


def _owner_membership(request):
    membership = getattr(request.user, "membership", None)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise Http404(_("Only an organisation's owner manages its API keys."))
    return membership


@login_required
def api_keys(request):
    membership = _owner_membership(request)
    organisation = membership.organisation
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, plaintext = api_key_create(organisation=organisation, by=request.user, **form.cleaned_data)
        except ApiKeyError as error:
            form.add_error(None, str(error))
        else:
            # Redirect, so that reloading the page cannot make a second key; the secret rides in
            # the session for that one next page only, and is gone from it once shown.
            request.session[NEW_KEY_SESSION] = plaintext
            return redirect("accounts:api_keys")
    response = render(request, "accounts/api_keys.html", {
        "organisation": organisation, "keys": organisation.api_keys.all(), "form": form,
        "new_key": request.session.pop(NEW_KEY_SESSION, None), "now": timezone.now(),
    })
    response["Cache-Control"] = "no-store"  # the page may show a secret: never from a cache
    return response


NEW_KEY_SESSION = "api_key_shown_once"


@login_required
@require_POST
def api_key_revoke_view(request, pk):
    membership = _owner_membership(request)
    key = membership.organisation.api_keys.filter(pk=pk).first()
    if key is None:
        raise Http404
    api_key_revoke(key=key, by=request.user)
    messages.success(request, _("Key “%(name)s” (%(prefix)s) is revoked: it stops working at once.")
                     % {"name": key.name, "prefix": key.prefix})
    return redirect("accounts:api_keys")


def set_language(request):
    """Django's language switch (a cookie, then back to `next`), which for a signed-in user also saves the
    choice, so that it holds on every device and in e-mails. "No preference" (an empty choice) clears it and
    leaves the language to the browser's Accept-Language."""
    response = i18n.set_language(request)
    if request.method == "POST":
        language = request.POST.get("language", "")
        if language not in dict(settings.LANGUAGES) and language != "":
            return response
        if request.user.is_authenticated:
            services.user_language_set(user=request.user, language=language)
        if language == "":
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH,
                                   domain=settings.LANGUAGE_COOKIE_DOMAIN)
    return response

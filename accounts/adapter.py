"""allauth, told who Tessera is: links in its e-mails are built from SITE_URL (not from whatever
host the request came in on), the e-mails are signed "Tessera", and people who have just
signed up are sent to set up their organisation."""
from types import SimpleNamespace
from urllib.parse import quote, urlparse

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import roles_of


def site():
    return SimpleNamespace(name=settings.SITE_NAME, domain=urlparse(settings.SITE_URL).netloc)


def saved_language(email):
    user = User.objects.filter(email__iexact=email).only("language").first()
    return user.language if user is not None else ""


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": _("That e-mail address and password do not match. Check them, or reset your password."),
        "email_taken": _("Someone already has an account with this e-mail address. Log in, or reset your password."),
        "too_many_login_attempts": _("Too many attempts to log in: wait a few minutes and try again."),
        "unknown_email": _("No Tessera account has this e-mail address."),
        "invalid_password_reset": _("This password reset link has been used or has expired: ask for a new one."),
    }

    def send_mail(self, template_prefix, email, context):
        context = {**context, "current_site": site(), "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}
        # In the recipient's saved language; someone without one (signing up, say) reads the page's.
        with translation.override(saved_language(email) or translation.get_language()):
            return super().send_mail(template_prefix, email, context)

    def get_email_confirmation_url(self, request, emailconfirmation):
        return settings.SITE_URL + reverse("account_confirm_email", args=[emailconfirmation.key])

    def get_reset_password_from_key_url(self, key):
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return settings.SITE_URL + path.replace("UID-KEY", quote(key))

    def get_login_redirect_url(self, request):
        user = request.user
        if not hasattr(user, "membership") and not roles_of(user) and not hasattr(user, "contributor"):
            # A start-up member's next step is their organisation: without it there is nothing to apply for.
            return resolve_url("accounts:organisation_create")
        return super().get_login_redirect_url(request)

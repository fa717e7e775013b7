"""Writes for organisations and their members. Views call these; they never save models themselves."""
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import Invitation, Membership, Organisation, User
from accounts.vat import normalised_vat_id
from licensing import jobs

log = structlog.get_logger(__name__)


class MembershipError(Exception):
    """A request about organisation membership that cannot be carried out; the message says why."""


def recipient_language(email):
    """The language e-mails to this address are written in: its user's saved choice, else English."""
    user = User.objects.filter(email__iexact=email).only("language").first()
    return (user.language if user is not None else "") or "en"


def _unique_slug(name):
    base = slugify(name)[:70] or "organisation"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organisation_create(*, by, name, legal_name, country, billing_address, vat_id="", website="", kind="startup"):
    if Membership.objects.select_for_update().filter(user=by).exists():
        raise MembershipError(_("You already belong to an organisation."))
    organisation = Organisation.objects.create(
        name=name,
        slug=_unique_slug(name),
        legal_name=legal_name,
        country=country.upper(),
        billing_address=billing_address,
        vat_id=normalised_vat_id(vat_id, country) if vat_id else "",
        website=website,
        kind=kind,
    )
    Membership.objects.create(user=by, organisation=organisation, role=Membership.Role.OWNER)
    log.info("organisation_created", organisation=organisation.slug, by=by.pk)
    return organisation


def _require_owner(user, organisation):
    membership = getattr(user, "membership", None)
    if membership is None or membership.organisation_id != organisation.pk or membership.role != Membership.Role.OWNER:
        raise MembershipError(_("Only the organisation's owner can do this."))


def invitation_create(*, by, organisation, email):
    _require_owner(by, organisation)
    email = email.strip().lower()
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise MembershipError(_("%(email)s is already a member of %(organisation)s.")
                              % {"email": email, "organisation": organisation})
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(organisation=organisation, email=email, invited_by=by)
            link = settings.SITE_URL + reverse("accounts:invitation_accept", args=[invitation.token])
            # In the invitation's transaction: the e-mail goes out once the broker has it, even after an outage.
            # In the invitee's language when they already have an account and chose one; else English.
            with override(recipient_language(email)):
                subject = _("[Tessera] %(inviter)s invites you to %(organisation)s") % {
                    "inviter": by, "organisation": organisation}
                body = _("%(inviter)s invites you to join %(organisation)s on Tessera.\n\n"
                         "Sign up or log in with this address (%(email)s), then open:\n%(link)s\n") % {
                    "inviter": by, "organisation": organisation, "email": email, "link": link}
            jobs.schedule("email.send", subject=subject, body=body, to=[email], dedupe=f"invitation:{invitation.pk}")
    except IntegrityError:
        raise MembershipError(_("%(email)s has already been invited and has not answered yet.")
                              % {"email": email}) from None
    return invitation


@transaction.atomic
def invitation_accept(*, by, token):
    invitation = Invitation.objects.select_for_update().filter(token=token, accepted_at__isnull=True).first()
    if invitation is None:
        raise MembershipError(_("This invitation does not exist or has already been used."))
    if invitation.email.lower() != by.email.lower():
        raise MembershipError(_("This invitation is for %(invited)s; you are logged in as %(email)s.")
                              % {"invited": invitation.email, "email": by.email})
    if Membership.objects.filter(user=by).exists():
        raise MembershipError(_("You already belong to an organisation."))
    Membership.objects.create(user=by, organisation=invitation.organisation, role=Membership.Role.MEMBER)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return invitation.organisation


def user_name_set(*, user, full_name):
    """The name people see on timelines, invoices and invitations, given at sign-up."""
    user.full_name = " ".join(full_name.split())[:200]
    user.save(update_fields=["full_name"])
    return user


def user_language_set(*, user, language):
    """The language the user reads Tessera in, pages and e-mails; "" leaves it to their browser."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language {language!r}.")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user

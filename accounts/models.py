import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from accounts.vat import normalised_vat_id


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The language pages and e-mails use for this person; empty: the browser's, and English in e-mails.
    language = models.CharField(_("language"), max_length=10, blank=True, choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organisation(models.Model):
    class Kind(models.TextChoices):
        STARTUP = "startup", _("Start-up")
        STUDIO = "studio", _("Studio")
        RESEARCH = "research", _("Research institution")
        COMPANY = "company", _("Company")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    legal_name = models.CharField(max_length=200)
    country = CountryField(max_length=2)
    vat_id = models.CharField(_("VAT id"), max_length=32, blank=True)
    billing_address = models.TextField()
    website = models.URLField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STARTUP)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # The VAT id's form depends on the country, so it is checked here, where both are known.
        if self.vat_id and self.country:
            try:
                self.vat_id = normalised_vat_id(self.vat_id, self.country)
            except ValidationError as error:
                raise ValidationError({"vat_id": error.messages}) from None


class Membership(models.Model):
    """A user belongs to at most one organisation: it is who they act for everywhere."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}) in {self.organisation}"


def _invitation_token():
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organisation", Lower("email"), condition=models.Q(accepted_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} to {self.organisation}"


class ApiKey(models.Model):
    """An organisation's key for its training pipelines. Only a hash of the secret is stored:
    the key is shown once, when it is made. The prefix identifies it in lists and logs."""

    SCOPES = ["licences:read", "slices:read", "slices:write", "invoices:read", "models:read", "models:write",
              "webhooks:read", "webhooks:write"]
    KEY_PREFIX = "tsk"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.KEY_PREFIX}_{self.prefix}…)"

    @staticmethod
    def hash_secret(secret):
        # The secret is 256 random bits: a fast hash is enough, and keeps per-request checks cheap.
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def parse(cls, token):
        """(prefix, secret) from 'tsk_<prefix>_<secret>', or None when it is not shaped like a key."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != cls.KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    RECORD_FIELDS = ("id", "organisation_id", "name", "prefix", "secret_hash", "scopes", "expires_at", "last_used_at",
                     "revoked_at")

    def record(self):
        """What the API's gate caches of the key: enough to authenticate a request without a query."""
        return {name: (value.isoformat() if hasattr(value, "isoformat") else value)
                for name in self.RECORD_FIELDS for value in [getattr(self, name)]}

    @classmethod
    def from_record(cls, record):
        values = dict(record)
        for name in ("expires_at", "last_used_at", "revoked_at"):
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

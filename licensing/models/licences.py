from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from licensing.models.ai_models import Disclosure


class LicenceState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    RESEARCH_ACTIVE = "research_active", _("Research active")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    UPGRADE_REQUESTED = "upgrade_requested", _("Upgrade requested")
    UPGRADE_OFFERED = "upgrade_offered", _("Upgrade offered")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    COMMERCIAL_ACTIVE = "commercial_active", _("Commercial active")
    SUSPENDED = "suspended", _("Suspended")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class LicencePhase(models.TextChoices):
    APPLICATION = "application", _("Application")
    RESEARCH = "research", _("Research")
    COMMERCIAL = "commercial", _("Commercial")


class ModelType(models.TextChoices):
    CLASSIFIER = "classifier", _("Classification or detection")
    IMAGE_GENERATION = "image_generation", _("Image generation")
    VIDEO_GENERATION = "video_generation", _("Video generation")
    MULTIMODAL = "multimodal", _("Multimodal (vision-language)")
    OTHER = "other", _("Other")


class FundingStage(models.TextChoices):
    BOOTSTRAPPED = "bootstrapped", _("Bootstrapped")
    PRE_SEED = "pre_seed", _("Pre-seed")
    SEED = "seed", _("Seed")
    SERIES_A = "series_a", _("Series A")
    LATER = "later", _("Series B or later")
    ACADEMIC = "academic", _("Academic or grant-funded")


class BillingPeriod(models.TextChoices):
    ONE_OFF = "one_off", _("One-off fee for the term")
    ANNUAL = "annual", _("Annual fee")


class OfferCoverage(models.TextChoices):
    SLICES = "slices", _("The licence's slices")
    CATALOGUE = "catalogue", _("The whole catalogue")
    COLLECTIONS = "collections", _("Listed collections")


class ReportingPeriod(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


class Licence(models.Model):
    """One licence through both phases: the application, the research licence, the commercial upgrade.

    Its state changes only through licensing.workflow (see the services); `version`
    grows with every change so that a form posted from a stale page can be refused.
    """

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="licences")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=LicenceState.choices, default=LicenceState.DRAFT)
    phase = models.CharField(max_length=12, choices=LicencePhase.choices, default=LicencePhase.APPLICATION)
    suspended_from = models.CharField(max_length=20, choices=LicenceState.choices, blank=True)
    # Set when the dunning job suspended the licence for this unpaid invoice: paying it lifts the suspension.
    suspended_for_invoice = models.ForeignKey("licensing.Invoice", null=True, blank=True, on_delete=models.SET_NULL,
                                              related_name="+")
    version = models.PositiveIntegerField(default=1)

    # The application.
    project_title = models.CharField(max_length=200)
    description = models.TextField()
    intended_use = models.TextField(_("intended research use"))
    model_type = models.CharField(max_length=20, choices=ModelType.choices)
    media_kinds = models.JSONField(default=list)
    estimated_volume = models.PositiveIntegerField(_("estimated number of assets needed"))
    team_size = models.PositiveIntegerField()
    funding_stage = models.CharField(max_length=20, choices=FundingStage.choices)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    terms_version = models.CharField(max_length=20, blank=True)

    # Research caps, set at approval. Empty caps (commercial offers only) mean unlimited.
    max_assets = models.PositiveIntegerField(null=True, blank=True)
    max_bytes = models.BigIntegerField(null=True, blank=True)
    max_slices = models.PositiveIntegerField(null=True, blank=True)
    research_starts_at = models.DateTimeField(null=True, blank=True)
    research_ends_at = models.DateTimeField(null=True, blank=True)

    # Usage, counted under a lock on this row when a slice is requested.
    used_assets = models.PositiveIntegerField(default=0)
    used_bytes = models.BigIntegerField(default=0)
    used_slices = models.PositiveIntegerField(default=0)

    # The upgrade request.
    upgrade_intended_use = models.TextField(_("intended commercial use"), blank=True)
    upgrade_expected_scale = models.CharField(_("expected scale"), max_length=300, blank=True)

    # The commercial offer and, once paid, the commercial term.
    offer_fee = models.DecimalField(_("fee (excluding VAT)"), max_digits=12, decimal_places=2, null=True, blank=True,
                                    help_text=_("Excluding VAT: the invoice adds VAT at the licensor's rate."))
    offer_currency = models.CharField(max_length=3, blank=True)
    offer_billing_period = models.CharField(max_length=10, choices=BillingPeriod.choices, blank=True)
    offer_term_months = models.PositiveIntegerField(null=True, blank=True)
    offer_scope = models.TextField(_("licensed purpose"), blank=True)
    offer_territory = models.CharField(max_length=200, blank=True)
    offer_max_assets = models.PositiveIntegerField(null=True, blank=True)
    offer_max_bytes = models.BigIntegerField(null=True, blank=True)
    offer_max_slices = models.PositiveIntegerField(null=True, blank=True)
    # Whether the licensee must say which models the licensed works trained: on a public model
    # page, to the licensor only, or not at all.
    offer_disclosure = models.CharField(_("disclosure of trained models"), max_length=10, choices=Disclosure.choices,
                                        default=Disclosure.NONE)
    offer_coverage = models.CharField(max_length=12, choices=OfferCoverage.choices, default=OfferCoverage.SLICES,
                                      db_default=OfferCoverage.SLICES)
    offer_collections = models.ManyToManyField("licensing.Collection", blank=True, related_name="offers")
    # While the offer stands and its term runs, the works it covers go to no other licence.
    offer_exclusive = models.BooleanField(default=False, db_default=False)
    offer_custom_model = models.CharField(
        "custom model", max_length=200, blank=True, default="", db_default="",
        help_text=_("When set, the works may train only this model, made for the licensor."))
    # The share of the revenue a usage report declares that the licensee pays, and that goes to the
    # contributors by attribution; and how often, and how soon after each period, it reports usage.
    offer_attribution_rate = models.DecimalField(_("attribution rate"), max_digits=5, decimal_places=4,
                                                 default=settings.ROYALTY_SHARE)
    offer_reporting_period = models.CharField(_("usage reporting period"), max_length=10,
                                              choices=ReportingPeriod.choices, default=ReportingPeriod.QUARTERLY)
    offer_reporting_days = models.PositiveSmallIntegerField(_("usage report deadline (days after the period)"),
                                                            default=30)
    offer_made_at = models.DateTimeField(null=True, blank=True)
    offer_accepted_at = models.DateTimeField(null=True, blank=True)
    commercial_starts_at = models.DateTimeField(null=True, blank=True)
    commercial_ends_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="licence_state_created_idx"),
            models.Index(fields=["organisation", "state"], name="licence_org_state_idx"),
        ]
        permissions = [
            ("review_licence", "Can review research applications"),
            ("offer_licence", "Can make and decline commercial offers"),
            ("administer_licence", "Can suspend, reinstate and revoke licences"),
            ("record_payment", "Can record payments"),
        ]

    def __str__(self):
        return f"{self.project_title} ({self.organisation})"

    @property
    def is_commercial(self):
        return self.phase == LicencePhase.COMMERCIAL

    @property
    def ends_at(self):
        return self.commercial_ends_at if self.is_commercial else self.research_ends_at

    @property
    def caps(self):
        """The caps in force: the offer's once commercial, the research caps before."""
        if self.is_commercial:
            return {"assets": self.offer_max_assets, "bytes": self.offer_max_bytes, "slices": self.offer_max_slices}
        return {"assets": self.max_assets, "bytes": self.max_bytes, "slices": self.max_slices}

    @property
    def usage(self):
        return {"assets": self.used_assets, "bytes": self.used_bytes, "slices": self.used_slices}

    @property
    def remaining(self):
        return {key: None if cap is None else max(cap - self.usage[key], 0) for key, cap in self.caps.items()}

    @property
    def offer_with_tax(self):
        """The offered fee as its invoice will total it: {"rate": tax %, "gross": amount}, or None without an offer."""
        if self.offer_fee is None:
            return None
        from licensing.models.billing import InvoiceLine

        rate = settings.INVOICE_TAX_RATE
        _net, _tax, gross = InvoiceLine.amounts(1, self.offer_fee, rate)
        return {"rate": rate, "gross": gross}

    def usage_rows(self):
        """(label, used, cap, percent) for the caps bars; an unlimited cap has no percent."""
        labels = {"assets": "Assets", "bytes": "Data", "slices": "Slices"}
        rows = []
        for key, cap in self.caps.items():
            used = self.usage[key]
            percent = None if not cap else min(100, round(100 * used / cap))
            rows.append({"key": key, "label": labels[key], "used": used, "cap": cap, "percent": percent})
        return rows


class LicenceEvent(models.Model):
    """The licence's timeline: one row per state change, never updated or deleted.

    The database refuses UPDATE and DELETE on this table (trigger in migration 0003);
    the model refuses them too, so the mistake is caught before it reaches SQL.
    """

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=100, help_text=_("Who acted, as shown on the timeline."))
    action = models.CharField(max_length=30)
    from_state = models.CharField(max_length=20, choices=LicenceState.choices)
    to_state = models.CharField(max_length=20, choices=LicenceState.choices)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["licence", "created_at"], name="licenceevent_licence_idx")]

    def __str__(self):
        return f"{self.action}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Licence events are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Licence events are append-only: they cannot be deleted.")


class SentEmail(models.Model):
    """What has been sent, by key, so that a job run twice sends nothing twice."""

    key = models.CharField(max_length=200, unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.formats import date_format


class RoyaltyPool(models.Model):
    """The contributors' share of one payment. One pool per payment: a job run twice makes one."""

    payment = models.OneToOneField("licensing.Payment", on_delete=models.PROTECT, related_name="royalty_pool")
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="royalty_pools")
    currency = models.CharField(max_length=3)
    net_amount = models.DecimalField(max_digits=12, decimal_places=2, help_text=_("The payment's amount before tax."))
    share = models.DecimalField(max_digits=5, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    contributor_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.amount} {self.currency} from payment {self.payment_id}"


class RoyaltyEntry(models.Model):
    """The royalty ledger: append-only. A credit note writes negative entries; nothing is edited."""

    class Reason(models.TextChoices):
        PAYMENT = "payment", _("Share of a payment")
        CREDIT_NOTE = "credit_note", _("Reversal by a credit note")
        ATTRIBUTION = "attribution", _("Share of a usage report by attribution")

    # A split writes one row per contributor (100,000 in one statement), so no index is kept that
    # another already covers: contributor leads royalty_contributor_idx, pool and credit note lead
    # their unique constraints below.
    # Nor are references checked row by row: a foreign key runs one lookup (and locks one row) per
    # reference of every entry, 600,000 for a split, more than the split itself. On PostgreSQL a trigger
    # per statement checks them all in one join each, and the referenced rows refuse deletion while
    # entries name them (migration 0019); the ORM's PROTECT stays.
    contributor = models.ForeignKey("licensing.Contributor", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="royalties", db_index=False, db_constraint=False)
    # A rightsholder that is an organisation (a studio) is credited like a contributor.
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="royalties", db_index=False, db_constraint=False)
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    pool = models.ForeignKey(RoyaltyPool, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                             db_index=False, db_constraint=False)
    credit_note = models.ForeignKey("licensing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="royalty_reversals", db_index=False, db_constraint=False)
    usage_report = models.ForeignKey("licensing.UsageReport", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="royalty_entries", db_index=False, db_constraint=False)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A usage pool pays a contributor twice: their attribution, and their part of the unexplained rest.
            models.UniqueConstraint(fields=["pool", "contributor", "reason"], condition=models.Q(pool__isnull=False),
                                    name="royalty_one_entry_per_pool_contributor_reason"),
            models.UniqueConstraint(fields=["credit_note", "contributor"],
                                    condition=models.Q(credit_note__isnull=False),
                                    name="royalty_one_reversal_per_credit_contributor"),
            # A studio, too, can be paid twice by a usage pool: through a contributor's attribution, and
            # from the unexplained rest.
            models.UniqueConstraint(fields=["pool", "organisation", "reason"],
                                    condition=models.Q(pool__isnull=False, organisation__isnull=False),
                                    name="royalty_one_entry_per_pool_organisation_reason"),
            models.UniqueConstraint(fields=["credit_note", "organisation"],
                                    condition=models.Q(credit_note__isnull=False, organisation__isnull=False),
                                    name="royalty_one_reversal_per_credit_organisation"),
            models.CheckConstraint(condition=models.Q(contributor__isnull=True, organisation__isnull=False)
                                   | models.Q(contributor__isnull=False, organisation__isnull=True),
                                   name="royalty_entry_has_one_payee"),
        ]
        indexes = [
            models.Index(fields=["contributor", "created_at"], name="royalty_contributor_idx"),
            models.Index(fields=["organisation", "created_at"], condition=models.Q(organisation__isnull=False),
                         name="royalty_organisation_idx"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} to {self.contributor_id or f'organisation {self.organisation_id}'}"


class RoyaltyPeriod(models.Model):
    """A month that finance has closed: its statements are final and its payouts can be made."""

    month = models.DateField(unique=True, help_text=_("The first day of the month."))
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self):
        return date_format(self.month, "F Y")


class RoyaltyPayout(models.Model):
    period = models.ForeignKey(RoyaltyPeriod, on_delete=models.PROTECT, related_name="payouts")
    contributor = models.ForeignKey("licensing.Contributor", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="payouts")
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="royalty_payouts")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=60, unique=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "contributor", "currency"], name="royalty_payout_once_per_period"),
            models.UniqueConstraint(fields=["period", "organisation", "currency"],
                                    condition=models.Q(organisation__isnull=False),
                                    name="royalty_payout_once_per_period_organisation"),
        ]

    def __str__(self):
        return self.reference

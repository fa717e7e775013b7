from django.core.exceptions import ValidationError
from django.db import models


class Collection(models.Model):
    """A named set of works with an owner: a studio's films, a contributor's portfolio."""

    name = models.CharField(max_length=200, unique=True)
    owner_contributor = models.ForeignKey("licensing.Contributor", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="collections")
    owner_organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="collections")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner_contributor__isnull=True, owner_organisation__isnull=False)
                | models.Q(owner_contributor__isnull=False, owner_organisation__isnull=True),
                name="collection_has_one_owner",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def owner(self):
        return self.owner_organisation or self.owner_contributor


class Rightsholder(models.Model):
    """A share of one work's rights, held by a contributor or an organisation. A work's shares add to 100%;
    a work without rows belongs wholly to its contributor."""

    asset = models.ForeignKey("licensing.Asset", on_delete=models.CASCADE, related_name="rightsholders")
    contributor = models.ForeignKey("licensing.Contributor", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="rights_shares")
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="rights_shares")
    # Hundredths of a percent: 10,000 is the whole work, so shares like 33.33% stay exact integers.
    share_bp = models.PositiveIntegerField()

    class Meta:
        ordering = ["asset", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contributor__isnull=True, organisation__isnull=False)
                | models.Q(contributor__isnull=False, organisation__isnull=True),
                name="rightsholder_is_one_party",
            ),
            models.CheckConstraint(condition=models.Q(share_bp__gt=0, share_bp__lte=10000),
                                   name="rightsholder_share_in_range"),
            models.UniqueConstraint(fields=["asset", "contributor"], condition=models.Q(contributor__isnull=False),
                                    name="rightsholder_one_row_per_contributor"),
            models.UniqueConstraint(fields=["asset", "organisation"], condition=models.Q(organisation__isnull=False),
                                    name="rightsholder_one_row_per_organisation"),
        ]

    def __str__(self):
        return f"{self.party} holds {self.share_percent}% of {self.asset_id}"

    @property
    def party(self):
        return self.organisation or self.contributor

    @property
    def share_percent(self):
        return self.share_bp / 100

    def clean(self):
        if (self.contributor_id is None) == (self.organisation_id is None):
            raise ValidationError("A rightsholder is either a contributor or an organisation.")

"""AI models: registering them and their versions, declaring what trained each version, releasing it,
and the provider's answers to the EU AI Act summary.

Each function runs in one transaction, locks the row it changes (the version, for
declarations and release, so a declaration cannot slip in beside a release), and writes
an audit event. Subset declarations are stored set-based: one INSERT … SELECT per batch of
asset ids, never a row at a time.
"""
import structlog
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from licensing import eu_summary, formats
from licensing.models import (
    AIModel,
    DeclaredItem,
    Disclosure,
    Licence,
    Modality,
    ModelVersion,
    Slice,
    SliceItem,
    SliceStatus,
    TrainingDeclaration,
)
from licensing.models.ai_models import count_row, counted_items_cte, training_counts_sql
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit

log = structlog.get_logger(__name__)

BATCH = 5000
SHOWN_IDS = 20


class ModelRefused(Exception):
    """A change to a model, version or declaration that cannot be made; the message says why."""

    def __init__(self, message, *, fields=None):
        super().__init__(message)
        self.fields = fields or {}


def _listed(ids):
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else "")


# --- Models and versions ------------------------------------------------------------

def ai_model_register(*, organisation, by, name, modality, purpose, slug="", is_public=False, model_card_url="",
                      api_key=None):
    name = (name or "").strip()
    if not name:
        raise ModelRefused(_("Give the model a name."), fields={"name": [_("Give the model a name.")]})
    if modality not in Modality.values:
        raise ModelRefused(_("The modality must be one of %(items)s.") % {"items": ', '.join(Modality.values)},
                           fields={"modality": [_("Unknown modality.")]})
    slug = slugify(slug or name)[:80]
    if not slug:
        raise ModelRefused(_("The model's address needs letters or digits."),
                           fields={"slug": [_("Choose another slug.")]})
    with transaction.atomic():
        if AIModel.objects.select_for_update().filter(organisation=organisation, slug=slug).exists():
            raise ModelRefused(_("Your organisation already has a model at “%(slug)s”: choose another name or slug.")
                               % {"slug": slug},
                               fields={"slug": [_("Already used by another of your models.")]})
        model = AIModel.objects.create(organisation=organisation, name=name, slug=slug, modality=modality,
                                       purpose=purpose or "", is_public=bool(is_public),
                                       model_card_url=model_card_url or "", created_by=by)
        audit(actor=by, api_key=api_key, organisation=organisation, action="ai_model.register", target=model,
              payload={"name": name, "slug": slug, "is_public": model.is_public})
    log.info("ai_model_registered", model=model.pk, organisation=organisation.pk)
    return model


def ai_model_publish(*, model, by, api_key=None):
    """Make the model public: its page and JSON-LD appear for its released versions."""
    with transaction.atomic():
        locked = AIModel.objects.select_for_update().get(pk=model.pk)
        if not locked.is_public:
            locked.is_public = True
            locked.save(update_fields=["is_public"])
            audit(actor=by, api_key=api_key, organisation=locked.organisation, action="ai_model.publish",
                  target=locked)
            transaction.on_commit(transparency_changed)  # the public page lists public models
    model.is_public = True
    return locked


def model_version_add(*, model, by, label, trained_from=None, trained_to=None, note="", api_key=None):
    label = (label or "").strip()
    if not label:
        raise ModelRefused(_("Give the version a label, for example 1.0."), fields={"label": [_("Required.")]})
    if trained_from and trained_to and trained_from > trained_to:
        raise ModelRefused(_("Training cannot end before it starts: check the dates."),
                           fields={"trained_to": [_("Must be on or after trained_from.")]})
    with transaction.atomic():
        AIModel.objects.select_for_update().get(pk=model.pk)
        if ModelVersion.objects.filter(model=model, label=label).exists():
            raise ModelRefused(_("%(name)s already has a version %(label)s.") % {"name": model.name, "label": label},
                               fields={"label": [_("Already used by another version of this model.")]})
        version = ModelVersion.objects.create(model=model, label=label, trained_from=trained_from,
                                              trained_to=trained_to, note=note or "", created_by=by)
        audit(actor=by, api_key=api_key, organisation=model.organisation, action="model_version.add",
              target=version, payload={"model": model.pk, "label": label})
    return version


# --- Declarations -----------------------------------------------------------------

def training_declare(*, version, by, slice_id, asset_ids=None, supersedes_id=None, note="", api_key=None):
    """Declare that the version was trained on a slice: all of it, or the items of the listed assets.

    Every listed asset must be in the slice and not withdrawn; a refusal names the offending ids.
    `supersedes_id` replaces an earlier declaration of the same version, which stays on the record
    but no longer counts.
    """
    whole = asset_ids is None
    if not whole:
        try:
            ids = sorted({int(i) for i in asset_ids})
        except (TypeError, ValueError):
            raise ModelRefused(_("Asset ids must be whole numbers, one per line."),
                               fields={"asset_ids": [_("Asset ids must be whole numbers.")]}) from None
        if not ids:
            raise ModelRefused(_("The list of asset ids is empty: list at least one, or declare the whole slice."),
                               fields={"asset_ids": [_("Empty.")]})
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().select_related("model__organisation").get(pk=version.pk)
        slice_ = Slice.objects.select_related("licence").filter(
            pk=slice_id, licence__organisation_id=locked.model.organisation_id).first()
        if slice_ is None:
            raise ModelRefused(_("Your organisation has no slice %(slice_id)s.") % {"slice_id": slice_id},
                               fields={"slice": [_("No such slice.")]})
        if slice_.status != SliceStatus.READY:
            raise ModelRefused(_("Slice %(number)s of licence %(licence_id)s is %(status)s: only a ready slice can have "
                                 "trained a model.")
                               % {"number": slice_.number, "licence_id": slice_.licence_id,
                                  "status": slice_.status}, fields={"slice": [_("Not ready.")]})
        superseded = None
        if supersedes_id is not None:
            superseded = TrainingDeclaration.objects.filter(pk=supersedes_id, version=locked).first()
            if superseded is None:
                raise ModelRefused(_("Version %(label)s has no declaration %(supersedes_id)s to supersede.")
                                   % {"label": locked.label, "supersedes_id": supersedes_id},
                                   fields={"supersedes": [_("No such declaration of this version.")]})
            if TrainingDeclaration.objects.filter(supersedes=superseded).exists():
                raise ModelRefused(_("Declaration %(pk)s was already superseded: supersede its replacement instead.")
                                   % {"pk": superseded.pk}, fields={"supersedes": [_("Already superseded.")]})
        elif TrainingDeclaration.objects.filter(version=locked, slice=slice_, superseded_by__isnull=True).exists():
            raise ModelRefused(_("Version %(label)s already declares slice %(number)s of licence %(licence_id)s: to change "
                                 "it, supersede that declaration.")
                               % {"label": locked.label, "number": slice_.number, "licence_id": slice_.licence_id},
                               fields={"slice": [_("Already declared.")]})
        now = timezone.now()
        if whole:
            items = SliceItem.objects.filter(slice=slice_)
            left_out = items.filter(withdrawn_at__isnull=False, withdrawn_at__lte=now).count()
            count = slice_.asset_count - left_out
        else:
            _check_subset(slice_, ids)
            count, left_out = len(ids), 0
        declaration = TrainingDeclaration.objects.create(
            version=locked, slice=slice_, whole_slice=whole, supersedes=superseded, item_count=count,
            left_out_count=left_out, note=note or "", declared_by=by, api_key=api_key, created_at=now)
        if not whole:
            _insert_declared_items(declaration, slice_, ids)
        _recount(locked)
        audit(actor=by, api_key=api_key, organisation=locked.model.organisation, action="training.declare",
              target=declaration, payload={"version": locked.pk, "slice": slice_.pk, "whole_slice": whole,
                                           "items": count, "supersedes": supersedes_id,
                                           "released_version": locked.released})
    log.info("training_declared", version=locked.pk, slice=slice_.pk, items=count, whole=whole)
    return declaration


def _check_subset(slice_, ids):
    found = {}
    for start in range(0, len(ids), BATCH):
        found.update(SliceItem.objects.filter(slice=slice_, asset_id__in=ids[start:start + BATCH])
                     .values_list("asset_id", "withdrawn_at"))
    missing = [i for i in ids if i not in found]
    withdrawn = [i for i in ids if found.get(i) is not None]
    problems, fields = [], {}
    where = f"slice {slice_.number} of licence {slice_.licence_id}"
    if missing:
        problems.append(f"{len(missing):,} asset id{'s are' if len(missing) > 1 else ' is'} not in {where}: "
                        f"{_listed(missing)}")
        fields["not_in_slice"] = missing[:SHOWN_IDS]
        fields["not_in_slice_count"] = len(missing)
    if withdrawn:
        problems.append(f"{len(withdrawn):,} asset{'s were' if len(withdrawn) > 1 else ' was'} withdrawn at "
                        f"{'their contributors’' if len(withdrawn) > 1 else 'its contributor’s'} request and cannot "
                        f"be declared: {_listed(withdrawn)}")
        fields["withdrawn"] = withdrawn[:SHOWN_IDS]
        fields["withdrawn_count"] = len(withdrawn)
    if problems:
        raise ModelRefused("Nothing was declared: " + "; ".join(problems) + ".", fields={"asset_ids": fields})


def _insert_declared_items(declaration, slice_, ids):
    table, items = DeclaredItem._meta.db_table, SliceItem._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH):
            batch = ids[start:start + BATCH]
            placeholders = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} (declaration_id, slice_item_id) "
                f"SELECT %s, i.id FROM {items} i WHERE i.slice_id = %s AND i.asset_id IN ({placeholders})",
                [declaration.pk, slice_.pk, *batch],
            )


def training_declaration_remove(*, declaration, by, api_key=None):
    """Take back a declaration of a version not yet released; a released version's are kept for good."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("model__organisation").get(
            pk=declaration.version_id)
        if version.released:
            raise ModelRefused(_("Version %(label)s is released: its declarations are kept. To correct one, declare again, "
                                 "superseding it.") % {"label": version.label})
        if TrainingDeclaration.objects.filter(supersedes_id=declaration.pk).exists():
            raise ModelRefused(_("This declaration was superseded: remove its replacement first."))
        audit(actor=by, api_key=api_key, organisation=version.model.organisation, action="training.remove",
              target=declaration, payload={"version": version.pk, "slice": declaration.slice_id})
        declaration.delete()
        _recount(version)


def _recount(version):
    """Count what the version's declarations in force cover, per licence and phase and in total, and keep it
    on the version: the model page then reads it instead of aggregating every item on every visit."""
    cte = counted_items_cte("d.version_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(training_counts_sql(cte, by_licence=True), [version.pk])
        rows = cursor.fetchall()
        if len(rows) > 1:
            cursor.execute(training_counts_sql(cte, by_licence=False), [version.pk])
            total = count_row(cursor.fetchone())
        else:
            total = count_row(rows[0][2:]) if rows else count_row([0] * 7 + [None, None])
    version.training_counts = {
        "licences": [{"licence": row[0], "phase": row[1], **count_row(row[2:])} for row in rows],
        "total": total,
    }
    version.save(update_fields=["training_counts"])


# --- Release -----------------------------------------------------------------------

def model_version_release(*, version, by, api_key=None):
    """Release the version: from now on its declarations are append-only and it appears to contributors
    and, for a public model, on the model's page.

    Refused while the model is private if any licence that trained it requires a public model page."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().select_related("model__organisation").get(pk=version.pk)
        model = AIModel.objects.select_for_update().get(pk=locked.model_id)
        if locked.released:
            raise ModelRefused(_("Version %(label)s was already released on %(released_at)s.")
                               % {"label": locked.label, "released_at": formats.day(locked.released_at)})
        active = TrainingDeclaration.objects.filter(version=locked, superseded_by__isnull=True)
        if not active.exists():
            raise ModelRefused(_("Version %(label)s declares no slice yet: declare what trained it first.")
                               % {"label": locked.label})
        public_duty = list(Licence.objects.filter(
            Exists(active.filter(slice__licence_id=OuterRef("pk"))), offer_disclosure=Disclosure.PUBLIC,
        ).order_by("pk"))
        if public_duty and not model.is_public:
            named = ", ".join(f"licence {licence.pk} (“{licence.project_title}”)" for licence in public_duty)
            raise ModelRefused(
                _("Version %(label)s cannot be released while %(name)s is private: %(named)s requires a "
                  "public model page for every model trained on its works. Make the model public, then "
                  "release.") % {"label": locked.label, "name": model.name, "named": named})
        locked.released, locked.released_at = True, timezone.now()
        locked.save(update_fields=["released", "released_at"])
        audit(actor=by, api_key=api_key, organisation=model.organisation, action="model_version.release",
              target=locked, payload={"declarations": list(active.values_list("pk", flat=True))})
        transaction.on_commit(transparency_changed)
    log.info("model_version_released", version=locked.pk)
    _refresh(version, locked)
    return locked


def _refresh(stale, fresh):
    if stale is not fresh:
        stale.released, stale.released_at = fresh.released, fresh.released_at


# --- The EU AI Act summary -----------------------------------------------------------

def eu_summary_answer(*, version, by, answers):
    """Store the provider's answers to the summary's provider fields; record fields are refused."""
    cleaned, problems = {}, {}
    for field_id, value in answers.items():
        if field_id not in eu_summary.FIELDS_BY_ID:
            problems[field_id] = ["Not a field of the template."]
            continue
        if field_id in eu_summary.RECORD_FIELDS:
            problems[field_id] = ["Filled from the licensor's records: it cannot be answered here."]
            continue
        try:
            value = eu_summary.clean_answer(field_id, value)
        except ValueError as error:
            problems[field_id] = [str(error)]
            continue
        if value is not None:
            cleaned[field_id] = value
    if problems:
        raise ModelRefused("Some answers were not saved: " + "; ".join(
            f"{field_id}: {' '.join(messages)}" for field_id, messages in problems.items()), fields=problems)
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().select_related("model__organisation").get(pk=version.pk)
        locked.eu_summary_answers = cleaned
        locked.eu_summary_updated_at = timezone.now()
        locked.save(update_fields=["eu_summary_answers", "eu_summary_updated_at"])
        audit(actor=by, organisation=locked.model.organisation, action="eu_summary.answer", target=locked,
              payload={"fields": sorted(cleaned)})
    version.eu_summary_answers, version.eu_summary_updated_at = locked.eu_summary_answers, locked.eu_summary_updated_at
    return locked

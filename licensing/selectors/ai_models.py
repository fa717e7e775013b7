"""Reads about AI models: who may see which, what trained each version, and which models a
contributor's works trained.

Visibility lives here once: a licensee sees its own organisation's models (another
organisation's answer 404), licensor staff see every model, the public sees public models
and only their released versions.

What trained a version is counted in SQL from its *counted items* (their definition is
licensing.models.ai_models.counted_items_cte): the items of every declaration that no other
supersedes — all of a whole slice but the items withdrawn before the declaration was made
(their contributors opted out before training: left out), or the listed items of a subset.
"""
import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from licensing import eu_summary as summary_template
from licensing.models import (
    AIModel,
    Contributor,
    Disclosure,
    Licence,
    LicencePhase,
    ModelVersion,
    Slice,
    SliceStatus,
    TrainingDeclaration,
)
from licensing.models.ai_models import (
    count_row,
    counted_items_cte,
    table_of,
    withdrawn_after_sql,
)
from licensing.selectors.organisations import organisation_scoped

# --- Who sees what -----------------------------------------------------------------

def models_visible_to(*, user):
    return organisation_scoped(AIModel.objects.select_related("organisation"), user=user)


def model_visible_to(*, user, pk):
    try:
        return models_visible_to(user=user).get(pk=pk)
    except (AIModel.DoesNotExist, ValueError):
        raise Http404("No such model.") from None


def models_of_organisation(*, organisation_id):
    return AIModel.objects.select_related("organisation").filter(organisation_id=organisation_id)


def version_of(*, model, pk):
    try:
        return ModelVersion.objects.select_related("model__organisation").get(model=model, pk=pk)
    except (ModelVersion.DoesNotExist, ValueError):
        raise Http404("No such model version.") from None


def public_model(*, organisation_slug, slug):
    """A public model by its address, or 404 whether it is private or does not exist."""
    model = AIModel.objects.select_related("organisation").filter(
        organisation__slug=organisation_slug, slug=slug, is_public=True).first()
    if model is None:
        raise Http404("No such public model.")
    return model


def public_models():
    """Public models with at least one released version, for the transparency page."""
    return (AIModel.objects.select_related("organisation").filter(is_public=True, versions__released=True)
            .annotate(released_versions=Count("versions", filter=Q(versions__released=True), distinct=True))
            .order_by("organisation__name", "name"))


def staff_models():
    """Every model, with its versions, released versions and active declarations counted."""
    active = TrainingDeclaration.objects.filter(superseded_by__isnull=True)
    return (AIModel.objects.select_related("organisation")
            .annotate(version_count=Count("versions", distinct=True),
                      released_count=Count("versions", filter=Q(versions__released=True), distinct=True),
                      declaration_count=Count("versions__declarations",
                                              filter=Q(versions__declarations__in=active), distinct=True))
            .order_by("organisation__name", "name"))


def declarable_slices(*, model):
    """The ready slices of the model's organisation's licences: what a version can declare."""
    return (Slice.objects.select_related("licence").filter(licence__organisation_id=model.organisation_id,
                                                           status=SliceStatus.READY)
            .order_by("licence_id", "number"))


def declarations_of(*, version):
    """Every declaration of the version, superseded ones included, oldest first, with what supersedes each."""
    return (TrainingDeclaration.objects.filter(version=version)
            .select_related("slice__licence", "supersedes", "superseded_by", "declared_by")
            .order_by("created_at", "id"))


def active_declarations(*, version):
    return declarations_of(version=version).filter(superseded_by__isnull=True)


# --- What trained a version ------------------------------------------------------------

def _facts(counts, withdrawn_after=0):
    facts = dict(counts)
    facts["withdrawn_after"] = withdrawn_after
    facts["video_hours"] = round(facts["video_seconds"] / 3600, 2)
    facts["works"] = facts["images"] + facts["videos"]
    for key in ("first_delivered", "last_delivered"):
        facts[key] = _as_datetime(facts[key])
    return facts


def _as_datetime(value):
    """SQLite hands back the text it stored, in UTC without an offset; PostgreSQL a datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.timezone.utc)
    return value


NOTHING = count_row([0] * 7 + [None, None])


def version_training(*, version):
    """What trained the version: per licence and phase, and in total (works and contributors counted once
    across licences). {"licences": [{licence, phase, phase_label, images, videos, video_hours, bytes,
    contributors, left_out, withdrawn_after, first_delivered, last_delivered, works}], "total": {… the same,
    "phases", "phase_labels"}}.

    The counts were taken when the declarations last changed (services.ai_models); the works withdrawn
    since are counted now, from the few withdrawn items: one small aggregate query, a second only when
    more than one licence or phase trained the version."""
    counts = ModelVersion.objects.values_list("training_counts", flat=True).get(pk=version.pk) or {}
    rows = counts.get("licences", [])
    withdrawn, total_withdrawn = {}, 0
    if rows:
        cte = counted_items_cte("d.version_id = %s", only_withdrawn=True)
        with connection.cursor() as cursor:
            cursor.execute(withdrawn_after_sql(cte, by_licence=True), [version.pk])
            withdrawn = {(licence, phase): n for licence, phase, n in cursor.fetchall()}
            if len(rows) > 1:
                cursor.execute(withdrawn_after_sql(cte, by_licence=False), [version.pk])
                total_withdrawn = cursor.fetchone()[0]
            else:
                total_withdrawn = sum(withdrawn.values())
    licences = Licence.objects.select_related("organisation").in_bulk({row["licence"] for row in rows})
    per_licence = []
    for row in rows:
        facts = _facts({k: v for k, v in row.items() if k not in ("licence", "phase")},
                       withdrawn.get((row["licence"], row["phase"]), 0))
        facts.update(licence=licences[row["licence"]], phase=row["phase"], phase_label=_phase_label(row["phase"]))
        per_licence.append(facts)
    total = _facts(counts.get("total") or NOTHING, total_withdrawn)
    total["phases"] = sorted({row["phase"] for row in per_licence})
    total["phase_labels"] = [_phase_label(phase) for phase in total["phases"]]
    return {"licences": per_licence, "total": total}


def _phase_label(phase):
    return LicencePhase(phase).label if phase in LicencePhase.values else phase


def version_contributors(*, version):
    """version → slices → items → contributors: each contributor whose works trained it, with how many."""
    cte = counted_items_cte("d.version_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH {cte}
            SELECT a.contributor_id, COUNT(DISTINCT a.id)
            FROM used u JOIN {table_of('asset')} a ON a.id = u.asset_id
            WHERE u.counted = 1
            GROUP BY a.contributor_id
        """, [version.pk])
        counts = dict(cursor.fetchall())
    contributors = Contributor.objects.in_bulk(list(counts))
    return sorted(({"contributor": contributors[pk], "works": n} for pk, n in counts.items()),
                  key=lambda row: (-row["works"], row["contributor"].pk))


def version_slices(*, version):
    """version → slices: each slice an active declaration covers, with its items counted."""
    cte = counted_items_cte("d.version_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH {cte}
            SELECT u.slice_id, COUNT(DISTINCT CASE WHEN u.counted = 1 THEN u.asset_id END),
                   COUNT(DISTINCT CASE WHEN u.counted = 0 THEN u.asset_id END)
            FROM used u GROUP BY u.slice_id
        """, [version.pk])
        counts = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    slices = Slice.objects.select_related("licence__organisation").in_bulk(list(counts))
    return [{"slice": slices[pk], "items": counts[pk][0], "left_out": counts[pk][1]} for pk in sorted(counts)]


# --- Which models a contributor's works trained -----------------------------------------------

def models_trained_on(*, contributor):
    """contributor → assets → slice items → licences → released model versions: one row per version and
    licence phase, with how many of the contributor's works, and when they were delivered.

    A private model is named only when the licence requires public disclosure; otherwise the row says
    "a private model of <licensee>"."""
    cte = counted_items_cte(
        "v.released",
        contributor_filter=f"AND i.asset_id IN (SELECT id FROM {table_of('asset')} WHERE contributor_id = %s)",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH {cte}
            SELECT u.version_id, s.licence_id, s.phase, COUNT(DISTINCT u.asset_id),
                   MIN(s.finished_at), MAX(s.finished_at)
            FROM used u JOIN {table_of('slice')} s ON s.id = u.slice_id
            WHERE u.counted = 1
            GROUP BY u.version_id, s.licence_id, s.phase
        """, [contributor.pk, contributor.pk])
        rows = cursor.fetchall()
    versions = ModelVersion.objects.select_related("model__organisation").in_bulk({row[0] for row in rows})
    licences = Licence.objects.in_bulk({row[1] for row in rows})
    used = []
    for version_id, licence_id, phase, works, first, last in rows:
        version, licence = versions[version_id], licences[licence_id]
        model = version.model
        named = model.is_public or licence.offer_disclosure == Disclosure.PUBLIC
        used.append({
            "version": version if named else None,
            "model_name": model.name if named else f"a private model of {model.organisation.name}",
            "model_url": model_page_path(model) if model.is_public else None,
            "version_label": version.label if named else None,
            "licensee": model.organisation.name,
            "licence": licence,
            "phase": phase,
            "phase_label": _phase_label(phase),
            "works": works,
            "trained_from": version.trained_from,
            "trained_to": version.trained_to,
            "released_at": version.released_at,
            "first_delivered": _as_datetime(first),
            "last_delivered": _as_datetime(last),
        })
    return sorted(used, key=lambda row: (row["released_at"] is None, row["released_at"]), reverse=True)


def model_page_path(model):
    return reverse("public_model", args=[model.organisation.slug, model.slug])


# --- The public page ----------------------------------------------------------------------

def public_model_report(*, model):
    """Each released version of a public model, newest first, with what trained it."""
    versions = list(model.versions.filter(released=True).order_by("-released_at", "-id"))
    return [{"version": version, **version_training(version=version)} for version in versions]


def model_jsonld(*, model, report, page_url):
    """schema.org JSON-LD: the works that trained the model, one Dataset per released version."""
    licensor = {"@type": "Organization", "name": settings.LICENSOR_NAME, "url": settings.SITE_URL}
    parts = []
    for entry in report:
        version, total = entry["version"], entry["total"]
        dataset = {
            "@type": "Dataset",
            "@id": f"{page_url}#version-{version.pk}",
            "name": f"Licensed works that trained {version.versioned_name}",
            "description": (
                f"{total['images']} images and {total['videos']} videos by {total['contributors']} contributors, "
                f"licensed from {settings.LICENSOR_NAME} ({', '.join(map(str, total['phase_labels'])).lower()} licence). "
                f"{total['left_out']} works were left out because their contributors opted out before training; "
                f"{total['withdrawn_after']} were withdrawn after training."
            ),
            "creator": licensor,
            "publisher": licensor,
            "version": version.label,
            "isAccessibleForFree": False,
            "variableMeasured": [
                {"@type": "PropertyValue", "name": name, "value": total[key]}
                for name, key in (("images", "images"), ("videos", "videos"), ("contributors", "contributors"),
                                  ("left out: opted out before training", "left_out"),
                                  ("withdrawn after training", "withdrawn_after"))
            ],
            "about": {"@type": "SoftwareApplication", "name": version.versioned_name,
                      "applicationCategory": "AI model", "author": {"@type": "Organization",
                                                                   "name": model.organisation.name}},
        }
        if version.trained_from or version.trained_to:
            dataset["temporalCoverage"] = (f"{version.trained_from.isoformat() if version.trained_from else '..'}/"
                                           f"{version.trained_to.isoformat() if version.trained_to else '..'}")
        if version.released_at:
            dataset["datePublished"] = version.released_at.date().isoformat()
        parts.append(dataset)
    document = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": page_url,
        "url": page_url,
        "name": f"Licensed works that trained {model.name}",
        "description": f"{model.name} by {model.organisation.name}: {model.purpose}",
        "creator": licensor,
        "publisher": licensor,
        "isAccessibleForFree": False,
        "hasPart": parts,
    }
    if model.model_card_url:
        document["sameAs"] = model.model_card_url
    return document


# --- The EU AI Act summary ------------------------------------------------------------------

def eu_summary(*, version, training=None):
    """The version's public summary of training content, drafted: record fields filled, provider's as answered."""
    training = training or version_training(version=version)
    total, model = training["total"], version.model
    licensor = settings.LICENSOR_NAME
    modalities = [kind for kind, key in (("image", "images"), ("video", "videos")) if total[key]]
    last_declared = TrainingDeclaration.objects.filter(version=version).order_by("-created_at").values_list(
        "created_at", flat=True).first()
    changed = max(moment for moment in (version.created_at, version.released_at, version.eu_summary_updated_at,
                                        last_declared) if moment)
    licences = []
    for row in training["licences"]:
        licence = row["licence"]
        licences.append({
            "licensor": licensor,
            "licence": licence.pk,
            "licensee": licence.organisation.name,
            "phase": row["phase"],
            "kinds": {"image": row["images"], "video": row["videos"]},
            "video_hours": row["video_hours"],
            "bytes": row["bytes"],
            "contributors": row["contributors"],
            "collection_period": {"from": summary_template.month_year(row["first_delivered"]), "to": summary_template.month_year(row["last_delivered"])},
            "left_out_opted_out_before_training": row["left_out"],
            "withdrawn_after_delivery": row["withdrawn_after"],
        })
    detail = "; ".join(
        f"licensed from {licensor} under licence {row['licence']} ({row['phase']} phase): "
        f"{row['kinds']['image']} images and {row['kinds']['video']} videos ({row['video_hours']} hours) by "
        f"{row['contributors']} contributors, {row['bytes']} bytes, delivered "
        f"{row['collection_period']['from']} to {row['collection_period']['to']}"
        for row in licences
    )
    measures = (
        f"Works licensed from {licensor}: contributors may opt out of AI training at any time. Works of "
        "contributors who had opted out were excluded when each slice was selected, before delivery. "
        f"{total['left_out']} delivered works whose contributors opted out before this version's training were "
        "left out of its training data. "
        f"After delivery, {total['withdrawn_after']} works used in training were withdrawn at their contributors' "
        "request: the licensor notified the provider (the manifests mark them withdrawn and their downloads answer "
        f"410 Gone). {licensor} publishes its contributors' reservations as W3C TDMRep (/.well-known/tdmrep.json) "
        "and sends the tdm-reservation header with every download of a reserved work."
    )
    records = {
        "fields": {
            "0.b": changed.date().isoformat(),
            "1.2.a": [version.versioned_name],
            "2.2.1.a": bool(licences),
            "2.2.1.b": modalities,
            "3.1.b": measures,
        },
        "details": {"2.2.1.b": detail} if detail else {},
        "statement": {
            "licensor": licensor,
            "licences": licences,
            "totals": {
                "images": total["images"], "videos": total["videos"], "video_hours": total["video_hours"],
                "bytes": total["bytes"], "contributors": total["contributors"],
                "collection_period": {"from": summary_template.month_year(total["first_delivered"]),
                                      "to": summary_template.month_year(total["last_delivered"])},
                "left_out_opted_out_before_training": total["left_out"],
                "withdrawn_after_delivery": total["withdrawn_after"],
                "image_size_bin": summary_template.size_bin(total["images"], summary_template.IMAGE_BINS),
                "video_size_bin": summary_template.size_bin(total["video_hours"], summary_template.VIDEO_BINS),
            },
        },
    }
    return summary_template.build_summary(
        model_name=model.name, version_label=version.label, provider_name=model.organisation.name,
        records=records, answers=version.eu_summary_answers or {},
    )


def eu_summary_suggestions(*, version, training=None):
    """What the records suggest for provider fields they know only in part (our share of the corpus)."""
    total = (training or version_training(version=version))["total"]
    organisation = version.model.organisation
    suggestions = {"1.1.a": f"{organisation.legal_name}, {' '.join(organisation.billing_address.split())}"}
    modalities = [kind for kind, key in (("image", "images"), ("video", "videos")) if total[key]]
    if modalities:
        suggestions["1.3.a"] = modalities
    if total["images"]:
        suggestions["1.3.b.image"] = summary_template.size_bin(total["images"], summary_template.IMAGE_BINS)
    if total["videos"]:
        suggestions["1.3.b.video"] = summary_template.size_bin(total["video_hours"], summary_template.VIDEO_BINS)
    if total["last_delivered"]:
        suggestions["1.3.d"] = summary_template.month_year(total["last_delivered"])
    return suggestions

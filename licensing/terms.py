"""A licence's terms as ODRL 2.2 policies in JSON-LD: what a training pipeline or a lawyer can read.

A research licence is an Agreement between the licensor and the organisation. The
commercial upgrade is first an Offer addressed to that organisation and, once it is
paid, an Agreement with the same rules and the commercial dates. Every document these
functions return must pass tests/standards/odrl/validate.py.

Three habits follow from that validator and from ODRL's own rules:
- every rule names its assigner, assignee and target itself (the policy-level values
  are a shorthand that RDF tools do not carry down to the rules);
- one action per rule;
- terms come from published vocabularies, written as full IRIs, so the document needs
  no context beyond ODRL's: purposes and places from the W3C Data Privacy Vocabulary,
  units from QUDT, party details and counted things from schema.org.
"""
import re
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from licensing.models import BillingPeriod, Disclosure, LicencePhase, LicenceState, ReportingPeriod

ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"

# DPV purposes form a taxonomy of classes, so the purpose constraints use `isA`: a
# narrower purpose (academic research, commercial research) satisfies the broader one.
RESEARCH_PURPOSE = "https://w3id.org/dpv#ResearchAndDevelopment"
COMMERCIAL_PURPOSE = "https://w3id.org/dpv#CommercialPurpose"
# DPV's location concepts are keyed by ISO 3166 codes (plus EU and EEA), which is what
# ODRL's `spatial` asks for: an IRI naming the area and the code list it comes from.
AREA = "https://w3id.org/dpv/loc#"

BYTE = "http://qudt.org/vocab/unit/BYTE"
# QUDT's currency units carry the ISO 4217 code, so every currency the offer form
# accepts has an IRI without a lookup table.
CURRENCY_UNIT = "http://qudt.org/vocab/unit/CCY_{}"
# What the count caps count: an asset is one image or video (schema:MediaObject); a
# slice is delivered as a dataset with its own Croissant manifest (schema:Dataset).
ASSET_UNIT = "http://schema.org/MediaObject"
SLICE_UNIT = "http://schema.org/Dataset"

# Once accepted the offer is still the document the upgrade invoice refers to.
OFFER_STATES = {LicenceState.UPGRADE_OFFERED, LicenceState.AWAITING_PAYMENT}

WORLDWIDE = {"", "worldwide", "world", "the world", "global", "all territories"}
REGION_NAMES = {
    "EU": "EU", "EUROPEAN UNION": "EU",
    "EEA": "EEA", "EUROPEAN ECONOMIC AREA": "EEA",
    # ISO 3166 reserves UK for the United Kingdom, whose code is GB.
    "UK": "GB", "UNITED KINGDOM": "GB",
}


class TermsNotAvailable(Exception):
    """The licence has no terms of the kind asked for (yet, or any more); the message says why."""


class UnknownTerritory(TermsNotAvailable, ValueError):
    """An offer's territory that cannot be named as a place in the terms."""


def licence_terms(licence, *, base_url=None):
    """The terms in force: the research Agreement, or the commercial Agreement once the upgrade is paid.

    While an upgrade is requested, offered or awaiting payment the research Agreement
    still holds; the offer itself is `licence_offer_terms`. A suspended, expired or
    revoked licence keeps the terms of the phase it ended in.
    """
    base = _base(base_url)
    if licence.phase == LicencePhase.COMMERCIAL:
        return _commercial_policy(licence, base, agreed=True)
    if licence.phase == LicencePhase.RESEARCH:
        return _research_agreement(licence, base)
    raise TermsNotAvailable(_("The licence has no terms until it is approved."))


def licence_offer_terms(licence, *, base_url=None):
    """The commercial Offer made to the organisation, while it stands and after it became the licence."""
    if not offer_stands(licence):
        raise TermsNotAvailable(_("This licence has no commercial offer."))
    return _commercial_policy(licence, _base(base_url), agreed=False)


def offer_stands(licence):
    """True when there is an offer to show: open, accepted and awaiting payment, or become the commercial licence.

    A declined offer, or one on a licence revoked before it was paid, is not shown.
    """
    if licence.offer_made_at is None or licence.offer_fee is None:
        return False
    if licence.phase == LicencePhase.COMMERCIAL:
        return True
    if licence.state == LicenceState.SUSPENDED:
        return licence.suspended_from in OFFER_STATES
    return licence.state in OFFER_STATES


def terms_document_url(licence, *, base_url=None):
    return f"{_base(base_url)}/licences/{licence.pk}/terms.jsonld"


def offer_document_url(licence, *, base_url=None):
    return f"{_base(base_url)}/licences/{licence.pk}/offer.jsonld"


def territory_areas(territory):
    """The offer's territory as DPV location IRIs; an empty list means worldwide.

    Accepts "Worldwide", ISO 3166 alpha-2 codes, EU and EEA, separated by commas,
    semicolons, slashes or "and" ("DE, FR", "EU and CH"). The offer form can call this
    to refuse a territory before it becomes part of an offer.
    """
    text = (territory or "").strip()
    if text.lower().rstrip(".") in WORLDWIDE:
        return []
    areas = []
    for part in re.split(r"[,;/]|\band\b", text, flags=re.IGNORECASE):
        name = " ".join(part.split()).upper()
        if not name:
            continue
        code = REGION_NAMES.get(name, name)
        if code not in ("EU", "EEA") and not re.fullmatch(r"[A-Z]{2}", code):
            raise UnknownTerritory(
                _("The territory “%(text)s” cannot be written into the licence terms: use “Worldwide”, "
                  "two-letter ISO 3166 country codes (e.g. “DE, FR”), “EU” or “EEA”.")
                % {"text": text}
            )
        areas.append(AREA + code)
    return list(dict.fromkeys(areas))


# --- The two kinds of policy --------------------------------------------------

def _research_agreement(licence, base):
    parties = _rule_parties(licence, base)
    permission = {
        **parties,
        "action": "use",
        "constraint": [
            _purpose(RESEARCH_PURPOSE, description=licence.intended_use),
            *_period(licence.research_starts_at, licence.research_ends_at),
            *_caps(assets=licence.max_assets, bytes_=licence.max_bytes, slices=licence.max_slices),
        ],
    }
    no_commercial_use = {**parties, "action": "use", "constraint": [_purpose(COMMERCIAL_PURPOSE)]}
    return {
        **_policy_head(
            licence, base, kind="Agreement", uid=f"{terms_document_url(licence, base_url=base)}#research-agreement",
            title=f"Research licence for {licence.organisation.name}: {licence.project_title}",
            issued=licence.research_starts_at,
        ),
        # A start-up's own research is commercial research: both rules apply to it, and
        # the permission must win. Any other commercial purpose meets only the
        # prohibition. (ODRL's default for a conflict, `invalid`, would void the policy.)
        "conflict": "perm",
        "permission": [permission],
        "prohibition": [no_commercial_use],
    }


def _commercial_policy(licence, base, *, agreed):
    if licence.offer_fee is None or not licence.offer_currency:
        raise TermsNotAvailable(_("This licence has no commercial offer."))
    parties = _rule_parties(licence, base)
    if agreed and licence.commercial_starts_at and licence.commercial_ends_at:
        term = _period(licence.commercial_starts_at, licence.commercial_ends_at)
    else:
        # Before payment the term has a length but no dates: it starts when the invoice is paid.
        term = [_constraint("elapsedTime", "lteq", _typed(f"P{licence.offer_term_months or 12}M", "xsd:duration"))]
    permission = {
        **parties,
        "action": "use",
        "constraint": [
            _purpose(COMMERCIAL_PURPOSE, description=licence.offer_scope),
            *term,
            *_territory(licence.offer_territory),
            *_caps(assets=licence.offer_max_assets, bytes_=licence.offer_max_bytes, slices=licence.offer_max_slices),
            *_custom_model(licence, base),
        ],
        "duty": [_fee(licence, base), *_disclosure(licence, base)],
    }
    if agreed:
        head = _policy_head(
            licence, base, kind="Agreement", uid=f"{terms_document_url(licence, base_url=base)}#commercial-agreement",
            title=f"Commercial licence for {licence.organisation.name}: {licence.project_title}",
            issued=licence.offer_accepted_at or licence.commercial_starts_at,
        )
        head["dct:source"] = {"@id": _offer_uid(licence, base)}
    else:
        # The offer names its assignee too: it is made to one organisation, and without
        # an assignee any party could claim to have accepted it.
        head = _policy_head(
            licence, base, kind="Offer", uid=_offer_uid(licence, base),
            title=f"Commercial licence offer to {licence.organisation.name}: {licence.project_title}",
            issued=licence.offer_made_at,
        )
    return {**head, "permission": [permission], "obligation": _usage_obligations(licence, base, parties)}


def catalogue_offer(*, base_url=None):
    """The catalogue's standing offer, for crawlers and agents (TDMRep's tdm-policy, RSL's standard terms):
    research use under a research licence, commercial use under a commercial one, both applied for."""
    base = _base(base_url)
    target = f"{base}/catalogue"
    assigner = _licensor_iri(base)
    rule = {"target": target, "assigner": assigner, "action": "use"}
    return {
        "@context": ODRL_CONTEXT,
        "type": "Offer",
        "uid": f"{catalogue_offer_url(base_url=base)}#catalogue-offer",
        "dct:title": f"{getattr(settings, 'LICENSOR_NAME', 'Tessera Licensing')}: licences of the catalogue for "
                     "AI training",
        "dct:description": f"Apply at {base}/licences/apply/ for a research licence; a commercial licence is "
                           "offered to research licensees. Works whose rightsholders reserved AI training are "
                           "never licensed.",
        "assigner": {
            "uid": assigner,
            "type": ["Party", "schema:Organization"],
            "schema:name": getattr(settings, "LICENSOR_NAME", "Tessera Licensing"),
        },
        "target": {"uid": target, "type": "AssetCollection"},
        "permission": [
            {**rule, "constraint": [_purpose(RESEARCH_PURPOSE, description="Under a research licence.")]},
            {**rule, "constraint": [_purpose(COMMERCIAL_PURPOSE, description="Under a commercial licence.")],
             "duty": [{"action": "compensate", "compensatedParty": assigner}]},
        ],
    }


def catalogue_offer_url(*, base_url=None):
    return f"{_base(base_url)}/catalogue/offer.jsonld"


# --- Parts --------------------------------------------------------------------

def _base(base_url):
    return (base_url or settings.SITE_URL).rstrip("/")


def _offer_uid(licence, base):
    return f"{offer_document_url(licence, base_url=base)}#commercial-offer"


def _licensor_iri(base):
    return f"{base}/#licensor"


def _organisation_iri(organisation, base):
    return f"{base}/organisations/{organisation.pk}"


def _granted_assets_iri(licence, base):
    return f"{base}/licences/{licence.pk}/slices"


def _policy_head(licence, base, *, kind, uid, title, issued):
    organisation = licence.organisation
    licensee = {
        "uid": _organisation_iri(organisation, base),
        "type": ["Party", "schema:Organization"],
        "schema:name": organisation.name,
        "schema:legalName": organisation.legal_name,
        "schema:addressCountry": organisation.country.code,
    }
    if organisation.vat_id:
        licensee["schema:vatID"] = organisation.vat_id
    head = {
        "@context": ODRL_CONTEXT,
        "type": kind,
        "uid": uid,
        "dct:title": title,
    }
    if issued is not None:
        head["dct:issued"] = _typed(_instant(issued), "xsd:dateTime")
    head["assigner"] = {
        "uid": _licensor_iri(base),
        "type": ["Party", "schema:Organization"],
        "schema:name": getattr(settings, "LICENSOR_NAME", "Tessera Licensing"),
    }
    head["assignee"] = licensee
    # What the licence reaches is what has been granted to it: the assets of its slices,
    # drawn from the catalogue. The caps are limits on this collection.
    head["target"] = {
        "uid": _granted_assets_iri(licence, base),
        "type": "AssetCollection",
        "partOf": f"{base}/catalogue",
    }
    return head


def _rule_parties(licence, base):
    return {
        "target": _granted_assets_iri(licence, base),
        "assigner": _licensor_iri(base),
        "assignee": _organisation_iri(licence.organisation, base),
    }


def _constraint(left, operator, right, **extra):
    return {"leftOperand": left, "operator": operator, "rightOperand": right, **extra}


def _typed(value, datatype):
    return {"@value": value, "@type": datatype}


def _instant(moment):
    return moment.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def _purpose(purpose_iri, *, description=""):
    constraint = _constraint("purpose", "isA", {"@id": purpose_iri})
    if description and description.strip():
        # The licensed purpose in the words the applicant and the licensor agreed on.
        constraint["dct:description"] = description.strip()
    return constraint


def _period(starts_at, ends_at):
    constraints = []
    if starts_at is not None:
        constraints.append(_constraint("dateTime", "gteq", _typed(_instant(starts_at), "xsd:dateTime")))
    if ends_at is not None:
        constraints.append(_constraint("dateTime", "lteq", _typed(_instant(ends_at), "xsd:dateTime")))
    return constraints


def _caps(*, assets, bytes_, slices):
    """One constraint per cap; an empty cap is unlimited and so constrains nothing."""
    constraints = []
    if assets is not None:
        constraints.append(_constraint("count", "lteq", assets, unit={"@id": ASSET_UNIT}))
    if slices is not None:
        constraints.append(_constraint("count", "lteq", slices, unit={"@id": SLICE_UNIT}))
    if bytes_ is not None:
        # ODRL has no data-volume operand. `absoluteSize` is its measure of the size of
        # the target asset, and the target here is the collection granted to the licence,
        # so "absoluteSize <= N bytes" is the byte cap itself. `count` counts executions
        # of the action and `unitOfCount` names what is counted, not how much: neither
        # states a volume. The unit makes the measure bytes, not pixels.
        constraints.append(_constraint("absoluteSize", "lteq", bytes_, unit={"@id": BYTE}))
    return constraints


def _custom_model(licence, base):
    """A deal for one custom model made for the licensee: the works may be used in that product only."""
    name = (licence.offer_custom_model or "").strip()
    if not name:
        return []
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
    return [_constraint("product", "eq", {"@id": f"{base}/licences/{licence.pk}/models/{slug}"},
                        **{"dct:title": name})]


def _territory(territory):
    areas = territory_areas(territory)
    if not areas:
        # A permission without a spatial constraint holds everywhere.
        return []
    if len(areas) == 1:
        return [_constraint("spatial", "eq", {"@id": areas[0]})]
    return [_constraint("spatial", "isAnyOf", [{"@id": area} for area in areas])]


def _fee(licence, base):
    """The compensate duty, refined by the amount and currency as in ODRL's own compensate example."""
    amount = Decimal(licence.offer_fee).quantize(Decimal("0.01"))
    duty = {
        "action": [{
            "rdf:value": {"@id": "odrl:compensate"},
            "refinement": [_constraint(
                "payAmount", "eq", _typed(str(amount), "xsd:decimal"),
                unit={"@id": CURRENCY_UNIT.format(licence.offer_currency.upper())},
            )],
        }],
        "compensatedParty": _licensor_iri(base),
    }
    if licence.offer_billing_period == BillingPeriod.ANNUAL:
        # The fee is due again every year of the term; a one-off fee is due once.
        duty["constraint"] = [_constraint("timeInterval", "eq", _typed("P1Y", "xsd:duration"))]
    return duty


def _usage_obligations(licence, base, parties):
    """The usage terms, owed for the whole term rather than for one use: report the revenue of the outputs of
    every model trained on the licensed assets, each period within its deadline, and pay the attribution rate
    of it, which goes to the contributors by attribution. One action per rule: the report is an inform, the
    payment a compensate refined by its percentage."""
    rate = (Decimal(licence.offer_attribution_rate) * 100).quantize(Decimal("0.01"))
    period = "P1M" if licence.offer_reporting_period == ReportingPeriod.MONTHLY else "P3M"
    report = {
        **parties,
        "action": "inform",
        "informedParty": _licensor_iri(base),
        "constraint": [
            _constraint("timeInterval", "eq", _typed(period, "xsd:duration")),
            _constraint("elapsedTime", "lteq", _typed(f"P{licence.offer_reporting_days}D", "xsd:duration")),
        ],
        "dct:description": (
            f"Report usage {licence.get_offer_reporting_period_display().lower()}, within "
            f"{licence.offer_reporting_days} days of each period's end: per output of every AI model version "
            "trained on the licensed assets, its revenue and its attribution scores."),
    }
    pay = {
        **parties,
        "action": [{
            "rdf:value": {"@id": "odrl:compensate"},
            "refinement": [_constraint("percentage", "eq", _typed(str(rate), "xsd:decimal"))],
        }],
        "compensatedParty": _licensor_iri(base),
        "dct:description": (
            f"Pay {rate}% of the revenue each usage report declares, in {licence.offer_currency}; it is split "
            "between the contributors by the Shapley values of their attribution scores."),
    }
    return [report, pay]


def _disclosure(licence, base):
    """The offer's disclosure term as a duty to inform: the licensee tells which of its AI models the
    licensed works trained. "public" refines the action by its delivery channel, the public model pages;
    "licensor" informs the licensor alone; "none" adds no duty."""
    disclosure = licence.offer_disclosure or Disclosure.NONE
    if disclosure == Disclosure.NONE:
        return []
    duty = {
        "action": "inform",
        "informedParty": _licensor_iri(base),
        "dct:description": "Declare, for every AI model version trained on the licensed assets, which slices or "
                           "items trained it, before the version is released.",
    }
    if disclosure == Disclosure.PUBLIC:
        duty["action"] = [{
            "rdf:value": {"@id": "odrl:inform"},
            "refinement": [_constraint("deliveryChannel", "eq", {"@id": f"{base}/models/"})],
        }]
        duty["dct:description"] += " The model is public, and its page there says so."
    return [duty]

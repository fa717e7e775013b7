"""Licence terms as ODRL 2.2: each kind of policy passes the shared validator and says what was agreed."""
import json
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Organisation
from licensing.models import Licence, LicencePhase, LicenceState
from licensing.terms import (
    TermsNotAvailable,
    UnknownTerritory,
    licence_offer_terms,
    licence_terms,
    territory_areas,
)

# The ODRL 2.2 validator and the W3C vocabulary and shapes it checks against, kept with the tests so that a
# checkout anywhere runs them.
VALIDATOR = Path(settings.BASE_DIR) / "tests/standards/odrl/validate.py"
BASE = "https://tessera.example"

APPROVED = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
RESEARCH_ENDS = datetime(2026, 4, 5, 9, 0, tzinfo=timezone.utc)
OFFER_MADE = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
OFFER_ACCEPTED = datetime(2026, 3, 2, 11, 0, tzinfo=timezone.utc)
PAID = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)
COMMERCIAL_ENDS = datetime(2028, 3, 4, 12, 0, tzinfo=timezone.utc)


def acme():
    return Organisation(pk=7, name="Acme Vision", slug="acme-vision", legal_name="Acme Vision Ltd",
                        country="GB", vat_id="GB123456789", billing_address="1 Acme Street\nLondon")


def research_licence(**changes):
    fields = {
        "pk": 42,
        "organisation": acme(),
        "project_title": "Detector pretraining",
        "intended_use": "Benchmark object detectors on licensed stock photography.",
        "state": LicenceState.RESEARCH_ACTIVE,
        "phase": LicencePhase.RESEARCH,
        "max_assets": 5000,
        "max_bytes": 50_000_000_000,
        "max_slices": 10,
        "research_starts_at": APPROVED,
        "research_ends_at": RESEARCH_ENDS,
    }
    fields.update(changes)
    return Licence(**fields)


def offered_licence(**changes):
    fields = {
        "state": LicenceState.UPGRADE_OFFERED,
        "upgrade_intended_use": "Train the image generator behind our product.",
        "offer_fee": Decimal("24000.00"),
        "offer_currency": "EUR",
        "offer_billing_period": "annual",
        "offer_term_months": 24,
        "offer_scope": "Training image generation models offered in the licensee's own SaaS product.",
        "offer_territory": "EU, CH",
        "offer_max_assets": 200_000,
        "offer_max_bytes": 2_000_000_000_000,
        "offer_max_slices": 50,
        "offer_made_at": OFFER_MADE,
    }
    fields.update(changes)
    return research_licence(**fields)


def commercial_licence(**changes):
    fields = {
        "state": LicenceState.COMMERCIAL_ACTIVE,
        "phase": LicencePhase.COMMERCIAL,
        "offer_accepted_at": OFFER_ACCEPTED,
        "commercial_starts_at": PAID,
        "commercial_ends_at": COMMERCIAL_ENDS,
    }
    fields.update(changes)
    return offered_licence(**fields)


def validate(policy, tmp_path, name="policy.jsonld"):
    path = tmp_path / name
    path.write_text(json.dumps(policy, indent=2))
    return subprocess.run([sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120)


def assert_conforms(policy, tmp_path):
    result = validate(policy, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conforms" in result.stdout and "DOES NOT CONFORM" not in result.stdout


def constraints_on(rule, left_operand):
    return [c for c in rule.get("constraint", []) if c["leftOperand"] == left_operand]


def only(items):
    assert len(items) == 1, items
    return items[0]


def count_cap(rule, unit):
    return only([c for c in constraints_on(rule, "count") if c["unit"] == {"@id": unit}])


def fee_refinement(permission):
    duty = only(permission["duty"])
    action = only(duty["action"])
    assert action["rdf:value"] == {"@id": "odrl:compensate"}
    return duty, only(action["refinement"])


# --- The research licence -------------------------------------------------------

def test_a_research_licence_is_an_agreement_that_the_odrl_validator_accepts(tmp_path):
    assert_conforms(licence_terms(research_licence(), base_url=BASE), tmp_path)


def test_the_research_agreement_names_the_parties_the_purpose_the_end_date_and_the_caps(settings):
    settings.LICENSOR_NAME = "Northlight Images Ltd"
    policy = licence_terms(research_licence(), base_url=BASE)

    assert policy["@context"] == "http://www.w3.org/ns/odrl.jsonld"
    assert policy["type"] == "Agreement"
    assert policy["uid"] == f"{BASE}/licences/42/terms.jsonld#research-agreement"
    assert policy["assigner"]["schema:name"] == "Northlight Images Ltd"
    assert policy["assignee"]["schema:name"] == "Acme Vision"
    assert policy["assignee"]["schema:legalName"] == "Acme Vision Ltd"
    assert policy["assignee"]["schema:vatID"] == "GB123456789"

    permission = only(policy["permission"])
    assert permission["action"] == "use"
    assert permission["assignee"] == policy["assignee"]["uid"] == f"{BASE}/organisations/7"
    assert permission["target"] == policy["target"]["uid"] == f"{BASE}/licences/42/slices"
    purpose = only(constraints_on(permission, "purpose"))
    assert purpose["operator"] == "isA"
    assert purpose["rightOperand"] == {"@id": "https://w3id.org/dpv#ResearchAndDevelopment"}
    ends = only([c for c in constraints_on(permission, "dateTime") if c["operator"] == "lteq"])
    assert ends["rightOperand"] == {"@value": "2026-04-05T09:00:00Z", "@type": "xsd:dateTime"}
    assert count_cap(permission, "http://schema.org/MediaObject")["rightOperand"] == 5000
    assert count_cap(permission, "http://schema.org/Dataset")["rightOperand"] == 10
    size = only(constraints_on(permission, "absoluteSize"))
    assert (size["operator"], size["rightOperand"], size["unit"]) == (
        "lteq", 50_000_000_000, {"@id": "http://qudt.org/vocab/unit/BYTE"})


def test_the_research_agreement_prohibits_commercial_use():
    policy = licence_terms(research_licence(), base_url=BASE)

    prohibition = only(policy["prohibition"])
    assert prohibition["action"] == "use"
    purpose = only(constraints_on(prohibition, "purpose"))
    assert purpose["rightOperand"] == {"@id": "https://w3id.org/dpv#CommercialPurpose"}
    # A start-up's own research is also commercial research: the permission must win there.
    assert policy["conflict"] == "perm"


@pytest.mark.parametrize("state", [
    LicenceState.UPGRADE_REQUESTED, LicenceState.UPGRADE_OFFERED, LicenceState.AWAITING_PAYMENT,
    LicenceState.SUSPENDED, LicenceState.EXPIRED, LicenceState.REVOKED,
])
def test_until_the_upgrade_is_paid_the_research_agreement_holds(state):
    policy = licence_terms(offered_licence(state=state, offer_accepted_at=OFFER_ACCEPTED), base_url=BASE)

    assert policy["uid"].endswith("#research-agreement")
    assert "duty" not in only(policy["permission"])


# --- The commercial offer -------------------------------------------------------

def test_a_commercial_offer_is_an_offer_that_the_odrl_validator_accepts(tmp_path):
    assert_conforms(licence_offer_terms(offered_licence(), base_url=BASE), tmp_path)


def test_the_offer_asks_for_the_fee_in_its_currency_for_the_term_in_the_territory():
    policy = licence_offer_terms(offered_licence(), base_url=BASE)

    assert policy["type"] == "Offer"
    assert policy["uid"] == f"{BASE}/licences/42/offer.jsonld#commercial-offer"
    assert policy["assignee"]["schema:name"] == "Acme Vision"
    permission = only(policy["permission"])
    duty, fee = fee_refinement(permission)
    assert (fee["leftOperand"], fee["operator"]) == ("payAmount", "eq")
    assert fee["rightOperand"] == {"@value": "24000.00", "@type": "xsd:decimal"}
    assert fee["unit"] == {"@id": "http://qudt.org/vocab/unit/CCY_EUR"}
    assert duty["compensatedParty"] == policy["assigner"]["uid"]
    # An annual fee is due every year of the term.
    assert only(duty["constraint"])["rightOperand"] == {"@value": "P1Y", "@type": "xsd:duration"}
    # Not paid yet, so the term has a length but no dates.
    assert constraints_on(permission, "dateTime") == []
    term = only(constraints_on(permission, "elapsedTime"))
    assert term["rightOperand"] == {"@value": "P24M", "@type": "xsd:duration"}
    spatial = only(constraints_on(permission, "spatial"))
    assert spatial["operator"] == "isAnyOf"
    assert spatial["rightOperand"] == [{"@id": "https://w3id.org/dpv/loc#EU"}, {"@id": "https://w3id.org/dpv/loc#CH"}]
    purpose = only(constraints_on(permission, "purpose"))
    assert purpose["rightOperand"] == {"@id": "https://w3id.org/dpv#CommercialPurpose"}
    assert purpose["dct:description"].startswith("Training image generation models")
    assert count_cap(permission, "http://schema.org/MediaObject")["rightOperand"] == 200_000


def test_the_offer_is_served_from_its_own_document_while_the_research_terms_stay_in_force():
    licence = offered_licence()

    assert licence_terms(licence, base_url=BASE)["uid"] == f"{BASE}/licences/42/terms.jsonld#research-agreement"
    assert licence_offer_terms(licence, base_url=BASE)["uid"] == f"{BASE}/licences/42/offer.jsonld#commercial-offer"


@pytest.mark.parametrize("licence", [
    research_licence(),
    offered_licence(state=LicenceState.RESEARCH_ACTIVE),  # the upgrade was declined
    offered_licence(state=LicenceState.REVOKED),
    research_licence(state=LicenceState.DRAFT, phase=LicencePhase.APPLICATION),
], ids=["no offer made", "offer declined", "licence revoked", "application"])
def test_there_are_no_offer_terms_without_a_standing_offer(licence):
    with pytest.raises(TermsNotAvailable, match="no commercial offer"):
        licence_offer_terms(licence, base_url=BASE)


def test_an_accepted_offer_awaiting_payment_can_still_be_read():
    licence = offered_licence(state=LicenceState.AWAITING_PAYMENT, offer_accepted_at=OFFER_ACCEPTED)

    assert licence_offer_terms(licence, base_url=BASE)["type"] == "Offer"


# --- The commercial licence -----------------------------------------------------

def test_a_paid_upgrade_is_a_commercial_agreement_that_the_odrl_validator_accepts(tmp_path):
    assert_conforms(licence_terms(commercial_licence(), base_url=BASE), tmp_path)


def test_the_commercial_agreement_binds_the_organisation_to_the_fee_and_the_commercial_dates():
    policy = licence_terms(commercial_licence(), base_url=BASE)

    assert policy["type"] == "Agreement"
    assert policy["uid"] == f"{BASE}/licences/42/terms.jsonld#commercial-agreement"
    assert policy["dct:source"] == {"@id": f"{BASE}/licences/42/offer.jsonld#commercial-offer"}
    assert policy["assignee"]["schema:name"] == "Acme Vision"
    assert "prohibition" not in policy
    permission = only(policy["permission"])
    assert permission["assignee"] == f"{BASE}/organisations/7"
    _, fee = fee_refinement(permission)
    assert fee["rightOperand"]["@value"] == "24000.00"
    assert fee["unit"] == {"@id": "http://qudt.org/vocab/unit/CCY_EUR"}
    period = {c["operator"]: c["rightOperand"]["@value"] for c in constraints_on(permission, "dateTime")}
    assert period == {"gteq": "2026-03-04T12:00:00Z", "lteq": "2028-03-04T12:00:00Z"}
    assert constraints_on(permission, "elapsedTime") == []
    # Same rules as the offer, apart from the dates.
    offer = only(licence_offer_terms(commercial_licence(), base_url=BASE)["permission"])
    assert permission["duty"] == offer["duty"]
    assert constraints_on(permission, "spatial") == constraints_on(offer, "spatial")
    assert constraints_on(permission, "count") == constraints_on(offer, "count")


@pytest.mark.parametrize("state", [LicenceState.SUSPENDED, LicenceState.EXPIRED, LicenceState.REVOKED])
def test_a_commercial_licence_that_ended_or_was_suspended_keeps_its_commercial_terms(state):
    policy = licence_terms(commercial_licence(state=state), base_url=BASE)

    assert policy["uid"].endswith("#commercial-agreement")


def test_an_unlimited_worldwide_one_off_licence_has_no_cap_territory_or_recurrence(tmp_path):
    licence = commercial_licence(offer_max_assets=None, offer_max_bytes=None, offer_max_slices=None,
                                 offer_territory="Worldwide", offer_billing_period="one_off",
                                 offer_fee=Decimal("90000"), offer_currency="USD")
    policy = licence_terms(licence, base_url=BASE)

    assert_conforms(policy, tmp_path)
    permission = only(policy["permission"])
    assert [c["leftOperand"] for c in permission["constraint"]] == ["purpose", "dateTime", "dateTime"]
    duty, fee = fee_refinement(permission)
    assert fee["rightOperand"]["@value"] == "90000.00"
    assert fee["unit"] == {"@id": "http://qudt.org/vocab/unit/CCY_USD"}
    assert "constraint" not in duty


# --- What has no terms ----------------------------------------------------------

@pytest.mark.parametrize("state", [
    LicenceState.DRAFT, LicenceState.SUBMITTED, LicenceState.CHANGES_REQUESTED,
    LicenceState.REJECTED, LicenceState.WITHDRAWN,
])
def test_an_application_has_no_terms_until_it_is_approved(state):
    licence = research_licence(state=state, phase=LicencePhase.APPLICATION, max_assets=None, max_bytes=None,
                               max_slices=None, research_starts_at=None, research_ends_at=None)

    with pytest.raises(TermsNotAvailable, match="no terms until it is approved"):
        licence_terms(licence, base_url=BASE)


# --- Territories ------------------------------------------------------------------

def test_territories_are_read_as_iso_codes_and_unions():
    assert territory_areas("Worldwide") == []
    assert territory_areas("") == []
    assert territory_areas("de") == ["https://w3id.org/dpv/loc#DE"]
    assert territory_areas("European Union and UK") == ["https://w3id.org/dpv/loc#EU", "https://w3id.org/dpv/loc#GB"]
    assert territory_areas("US; CA / US") == ["https://w3id.org/dpv/loc#US", "https://w3id.org/dpv/loc#CA"]


def test_a_single_country_is_an_equality_constraint():
    permission = only(licence_offer_terms(offered_licence(offer_territory="DE"), base_url=BASE)["permission"])

    assert only(constraints_on(permission, "spatial")) == {
        "leftOperand": "spatial", "operator": "eq", "rightOperand": {"@id": "https://w3id.org/dpv/loc#DE"}}


def test_a_territory_that_names_no_place_is_refused_with_a_message_that_says_what_to_write():
    with pytest.raises(UnknownTerritory, match="ISO 3166 country codes"):
        licence_offer_terms(offered_licence(offer_territory="Europe except the Nordics"), base_url=BASE)


# --- The identifiers and the validator itself ------------------------------------------

def test_identifiers_are_absolute_under_the_site_url_by_default(settings):
    settings.SITE_URL = "https://licensing.example.org"
    policy = licence_terms(research_licence())

    assert policy["uid"] == "https://licensing.example.org/licences/42/terms.jsonld#research-agreement"
    assert policy["assigner"]["uid"].startswith("https://licensing.example.org/")
    assert only(policy["permission"])["target"] == "https://licensing.example.org/licences/42/slices"


def test_the_validator_rejects_a_policy_with_an_action_odrl_does_not_define(tmp_path):
    policy = licence_terms(research_licence(), base_url=BASE)
    policy["permission"][0]["action"] = "train"

    result = validate(policy, tmp_path, "broken.jsonld")

    assert result.returncode == 1
    assert "DOES NOT CONFORM" in result.stdout
    assert "action must be a non-deprecated ODRL 2.2 Action" in result.stdout


def test_the_validator_rejects_an_agreement_rule_without_an_assignee(tmp_path):
    policy = licence_terms(research_licence(), base_url=BASE)
    del policy["prohibition"][0]["assignee"]

    result = validate(policy, tmp_path, "no-assignee.jsonld")

    assert result.returncode == 1
    assert "DOES NOT CONFORM" in result.stdout


# --- The disclosure of trained models ------------------------------------------------

def disclosure_duty(policy):
    duties = only(policy["permission"])["duty"]
    return [duty for duty in duties if duty["action"] == "inform" or (
        isinstance(duty["action"], list) and duty["action"][0]["rdf:value"] == {"@id": "odrl:inform"})]


@pytest.mark.parametrize("make, terms", [(offered_licence, licence_offer_terms), (commercial_licence, licence_terms)],
                         ids=["offer", "agreement"])
@pytest.mark.parametrize("disclosure", ["public", "licensor"])
def test_a_disclosure_term_is_a_duty_to_inform_that_the_odrl_validator_accepts(tmp_path, make, terms, disclosure):
    policy = terms(make(offer_disclosure=disclosure), base_url=BASE)

    assert_conforms(policy, tmp_path)
    duty = only(disclosure_duty(policy))
    assert duty["informedParty"] == f"{BASE}/#licensor"
    assert "every AI model version trained on the licensed assets" in duty["dct:description"]
    if disclosure == "public":
        refinement = only(only(duty["action"])["refinement"])
        assert refinement == {"leftOperand": "deliveryChannel", "operator": "eq", "rightOperand": {"@id": f"{BASE}/models/"}}
    else:
        assert duty["action"] == "inform"


def test_no_disclosure_adds_no_duty():
    policy = licence_offer_terms(offered_licence(offer_disclosure="none"), base_url=BASE)

    assert disclosure_duty(policy) == []
    assert len(only(policy["permission"])["duty"]) == 1  # the fee alone


def test_the_attribution_rate_and_the_reporting_duty_are_obligations_the_odrl_validator_accepts(tmp_path):
    usage = {"offer_attribution_rate": Decimal("0.2500"), "offer_reporting_period": "monthly",
             "offer_reporting_days": 15}
    for policy in (licence_offer_terms(offered_licence(**usage), base_url=BASE),
                   licence_terms(commercial_licence(**usage), base_url=BASE)):
        report, pay = policy["obligation"]
        assert report["action"] == "inform" and report["assignee"] == policy["permission"][0]["assignee"]
        assert [c["rightOperand"]["@value"] for c in report["constraint"]] == ["P1M", "P15D"]
        refinement = only(only(pay["action"])["refinement"])
        assert (refinement["leftOperand"], refinement["rightOperand"]["@value"]) == ("percentage", "25.00")
        assert "25.00% of the revenue each usage report declares" in pay["dct:description"]
        assert_conforms(policy, tmp_path)

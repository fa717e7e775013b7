"""No input gets a 500: generated values posted into every web form and every API write.

Each form gets, field by field, either a value it would accept or a hostile one (huge and
negative numbers, non-numbers, NUL bytes, 10 kB strings, spreadsheet formulas, 10^30, odd
unicode). Whatever comes in, the answer is not a 5xx, and a refused request writes nothing:
the licence keeps its state and version, no slice, payment, note or row appears. Every example
runs in a savepoint that is rolled back, so one accepted input does not change the next's world.
"""
import json
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django import forms
from django.core.cache import cache
from django.db import transaction
from django.urls import Resolver404
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from accounts.forms import ApiKeyForm, InvitationForm, OrganisationForm
from accounts.models import ApiKey, Invitation, Organisation, User
from licensing import workflow
from licensing.forms.billing import CreditNoteForm, InvoiceFilterForm, PaymentRecordForm
from licensing.forms.contributors import OptOutConfirmForm, WorksFilterForm
from licensing.forms.licences import ACTION_PAGES, ApplicationForm
from licensing.forms.review import QueueFilterForm
from licensing.forms.royalties import PayoutsPaidForm
from licensing.forms.slices import SliceRequestForm
from licensing.models import (
    Contributor,
    ContributorConsentChange,
    Invoice,
    InvoiceReason,
    Licence,
    LicenceEvent,
    Payment,
    RoyaltyPayout,
    RoyaltyPeriod,
    Slice,
)
from licensing.months import add_months, current_month
from licensing.services.billing import invoice_draft, invoice_issue
from licensing.services.royalties import royalty_period_close
from tests.conftest import make_user
from tests.licensing.factories import LicenceFactory, catalogue, research_licence

TRIED = Counter()

# Values that have broken forms somewhere: the column limits and one past them, what a spreadsheet
# would run, what PostgreSQL refuses to store, what Python refuses to convert.
HOSTILE = [
    "", " ", "0", "-1", "1", "0.001", "1.5", "-0.01", "2147483647", "2147483648", "-2147483649",
    "4294967296", "9000000000", "8589934592", "9223372036854775807", "9223372036854775808", str(10**30),
    "-" + str(10**30), "1e30", "1E+30", "1e-30", "1e400", "NaN", "nan", "inf", "-Infinity", "0x10", "1_000",
    "٣", "²", "１２", "=1+1", "+1", "-1+1", "@SUM(A1:A9)", "=HYPERLINK(\"http://x\")", "\x00", "a\x00b", "1\x00",
    "\x00" * 50, "🙂", "\u202eevil", "\ufeff", "null", "None", "true", "[]", "{}", "' OR 1=1 --",
    "9999-12", "9999-13", "10000-01", "0000-01", "1999-12", "2026-00", "2026-11", "2026-1", "99999999999-01",
    "2026-11-20", "9999-12-31", "0001-01-01", "2026-02-30", "x" * 10_000, "9" * 5_000, "1" * 400,
    ",".join(["tag"] * 500), ", ".join(["t" * 60] * 3), "a," * 30,
]


def hostile():
    listed = st.sampled_from(HOSTILE)
    return st.one_of(
        listed, listed, listed,
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.floats().map(repr),
        st.text(max_size=30),
    )


def plausible(field):
    """A value the field would accept on its own, so that the other fields' hostile values reach the service."""
    if isinstance(field, forms.BooleanField):
        return "on"
    if isinstance(field, forms.MultipleChoiceField):
        return [field.choices[0][0]]
    if isinstance(field, forms.ChoiceField):
        values = [value for value, _ in field.choices if value]
        return values[0] if values else ""
    if isinstance(field, forms.DateField):
        return timezone.now().date().isoformat()
    if isinstance(field, forms.DecimalField):
        return "1.00"
    if isinstance(field, (forms.IntegerField, forms.FloatField)):
        return "5"
    if isinstance(field, forms.EmailField):
        return "someone@example.org"
    if isinstance(field, forms.URLField):
        return "https://example.org"
    return "Plain words"


def _plausible_data(form_class, *, prefix=None, valid=None, **form_kwargs):
    fields = form_class(**form_kwargs).fields
    valid = valid or {}
    return {(f"{prefix}-{name}" if prefix else name): valid.get(name, plausible(field))
            for name, field in fields.items()}


# Each field gets each of these once, the others plausible, before the generated examples: the values
# that broke a form before, tried on every field every run.
KNOWN_BREAKERS = ["2147483648", "9000000000", str(10**30), "NaN", "\x00", "x" * 10_000, "=1+1", "9999-12"]


def each_field_broken(form_class, **kwargs):
    good = _plausible_data(form_class, **kwargs)
    return [{**good, key: value} for key in good for value in KNOWN_BREAKERS]


def fuzz(strategy, examples=()):
    """@given(strategy) under EXAMPLES, with `examples` tried first."""

    def decorate(test):
        run = given(strategy)(test)
        for one in examples:
            run = example(one)(run)
        return EXAMPLES(run)

    return decorate


def form_data(form_class, **kwargs):
    """The form's fields filled in: all plausible but one hostile (so the hostile value gets past the
    other fields to the service), or each field plausible, hostile or missing."""
    good = _plausible_data(form_class, **kwargs)
    one_hostile = st.tuples(st.sampled_from(sorted(good)), hostile()).map(lambda bad: {**good, bad[0]: bad[1]})
    mixed = st.fixed_dictionaries(
        {key: st.one_of(st.just(value), hostile(), st.just(None)) for key, value in good.items()}
    ).map(lambda data: {key: value for key, value in data.items() if value is not None})
    return st.one_of(one_hostile, one_hostile, one_hostile, mixed)


EXAMPLES = hypothesis_settings(
    max_examples=15, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def attempt(client, method, url, data=None, *, snapshot, judge, **extra):
    """Send one request in a savepoint that is rolled back; no 5xx, and `judge` says the writes fit the answer."""
    with transaction.atomic():
        before = snapshot()
        response = getattr(client, method)(url, data, **extra)
        try:
            route = "/" + response.resolver_match.route
        except Resolver404:  # an empty path segment matched no route at all
            route = url
        TRIED[f"{method.upper()} {route}"] += 1
        assert response.status_code < 500, (response.status_code, data)
        judge(response, before, snapshot(), data)
        transaction.set_rollback(True)
    return response


def nothing_written_unless(accepted):
    """A judge: when the answer is not `accepted(response)`, the snapshot must not have moved."""

    def judge(response, before, after, data):
        if not accepted(response):
            assert after == before, (response.status_code, data)

    return judge


def redirected(response):
    return response.status_code == 302


def fully_written_or_not_at_all(response, before, after, data):
    """A licence action either changes nothing or is one whole transition: one version, one event."""
    if after == before:
        return
    assert response.status_code == 302, (response.status_code, data)
    assert after["version"] == before["version"] + 1, (before, after, data)
    assert after["events"] == before["events"] + 1, (before, after, data)


def licence_snapshot(licence):
    def snapshot():
        row = Licence.objects.filter(pk=licence.pk).values().get()
        row.pop("updated_at")
        row["events"] = LicenceEvent.objects.filter(licence=licence).count()
        row["slices"] = Slice.objects.filter(licence=licence).count()
        return row

    return snapshot


# --- The licence: application and workflow actions -----------------------------------------------

@pytest.fixture
def staff(rita, adam, fiona):
    return {"reviewer": rita, "licensor_admin": adam, "finance": fiona}


ACTORS = {
    "submit": ("draft", "alice"), "withdraw": ("draft", "alice"),
    "request_changes": ("submitted", "reviewer"), "approve": ("submitted", "reviewer"),
    "reject": ("submitted", "reviewer"), "request_upgrade": ("research_active", "alice"),
    "make_offer": ("upgrade_requested", "licensor_admin"), "decline_upgrade": ("upgrade_requested", "licensor_admin"),
    "accept_offer": ("upgrade_offered", "alice"), "suspend": ("research_active", "licensor_admin"),
    "reinstate": ("suspended", "licensor_admin"), "revoke": ("research_active", "licensor_admin"),
}


def licence_in(state, org, applicant):
    now = timezone.now()
    values = {"state": state, "version": 3}
    if state not in ("draft", "submitted"):
        values.update(phase="research", max_assets=100, max_bytes=10**9, max_slices=5,
                      research_starts_at=now - timedelta(days=1), research_ends_at=now + timedelta(days=90))
    if state == "upgrade_offered":
        values.update(offer_fee=Decimal("1000.00"), offer_currency="EUR", offer_billing_period="one_off",
                      offer_term_months=12, offer_scope="Product model", offer_territory="Worldwide",
                      offer_made_at=now)
    if state == "suspended":
        values["suspended_from"] = "research_active"
    return LicenceFactory(organisation=org, applicant=applicant, **values)


@pytest.mark.parametrize("action", list(ACTION_PAGES))
def test_no_workflow_action_form_answers_500_or_writes_half(action, client, org_a, alice, staff):
    state, who = ACTORS[action]
    user = alice if who == "alice" else staff[who]
    licence = licence_in(state, org_a, alice)
    assert action in workflow.available_actions(licence, user)
    client.force_login(user)
    form_class = ACTION_PAGES[action].form
    url = f"/licences/{licence.pk}/{action}/"

    shape = {"prefix": action, "valid": {"version": str(licence.version)}}

    @fuzz(form_data(form_class, **shape), each_field_broken(form_class, **shape))
    def post(data):
        attempt(client, "post", url, data, snapshot=licence_snapshot(licence), judge=fully_written_or_not_at_all)

    post()


class VersionedApplication(ApplicationForm):
    """The application as the edit page posts it: with the version it showed, and what was pressed."""

    version = forms.IntegerField()
    intent = forms.ChoiceField(choices=[("draft", "draft"), ("submit", "submit")])


def test_no_application_form_answers_500_or_saves_a_refused_application(client, org_a, alice):
    client.force_login(alice)
    draft = licence_in("draft", org_a, alice)

    @fuzz(form_data(ApplicationForm), [{**data, "intent": "submit"} for data in each_field_broken(ApplicationForm)])
    def apply(data):
        attempt(client, "post", "/licences/apply/", data,
                snapshot=lambda: Licence.objects.count(), judge=nothing_written_unless(redirected))

    edit_shape = {"valid": {"version": str(draft.version)}}

    @fuzz(form_data(VersionedApplication, **edit_shape), each_field_broken(VersionedApplication, **edit_shape))
    def edit(data):
        attempt(client, "post", f"/licences/{draft.pk}/edit/", data,
                snapshot=licence_snapshot(draft), judge=nothing_written_unless(redirected))

    apply()
    edit()


# --- Slices: the web form and the API --------------------------------------------------------------

@pytest.fixture
def active(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=5, max_bytes=10**12)
    catalogue(5)
    return licence


def slice_judge(created_status):
    def judge(response, before, after, data):
        if response.status_code == created_status:
            assert after["slices"] == before["slices"] + 1, data
            assert after["used_slices"] == before["used_slices"] + 1, data
        else:
            assert after == before, (response.status_code, data)

    return judge


def test_no_slice_request_from_the_page_answers_500_or_creates_a_refused_slice(client, active, alice):
    client.force_login(alice)

    @fuzz(form_data(SliceRequestForm, prefix="slice"), each_field_broken(SliceRequestForm, prefix="slice"))
    def post(data):
        attempt(client, "post", f"/licences/{active.pk}/slices/", data, snapshot=licence_snapshot(active),
                judge=slice_judge(302))

    post()


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40), st.floats(),
              st.sampled_from(HOSTILE), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=25), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=30,
)
SLICE_FIELDS = ("size", "seed", "kind", "min_width", "min_height", "min_duration", "max_duration", "tags")
JSON_BREAKERS = [2**31, 2**63, 10**30, -1, 1e308, float("inf"), float("nan"), "x" * 10_000, "\x00", ["\x00"],
                 ["x" * 10_000], ["t"] * 500, [""], None, True, {"a": 1}, "=1+1"]
SLICE_BODY = st.fixed_dictionaries({}, optional={
    "size": st.one_of(st.integers(min_value=1, max_value=5), JSON_VALUES),
    "seed": st.one_of(st.integers(min_value=0, max_value=99), JSON_VALUES),
    "kind": st.one_of(st.sampled_from(["image", "video"]), JSON_VALUES),
    "min_width": st.one_of(st.integers(min_value=0, max_value=2000), JSON_VALUES),
    "min_height": JSON_VALUES,
    "min_duration": JSON_VALUES,
    "max_duration": JSON_VALUES,
    "tags": st.one_of(st.lists(st.sampled_from(["city", "nature"] + HOSTILE), max_size=30), JSON_VALUES),
})


def test_no_slice_request_through_the_api_answers_500_or_creates_a_refused_slice(active, org_a):
    _, plaintext = api_key_create(organisation=org_a, by=None, name="pipeline", scopes=list(ApiKey.SCOPES),
                                  expires_days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    @fuzz(st.tuples(SLICE_BODY, st.one_of(st.none(), st.sampled_from(["k1", "\x00", "x" * 300, "é" * 10]))),
          [({"size": 2, key: value}, None) for key in SLICE_FIELDS for value in JSON_BREAKERS])
    def post(request):
        body, idempotency_key = request
        cache.clear()  # neither the rate limit nor an earlier example's idempotency record answers for this one
        extra = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
        # Encoded here: DRF's test renderer refuses NaN and infinities, which a client's JSON may still carry.
        attempt(api, "post", f"/api/v1/licences/{active.pk}/slices/", json.dumps(body),
                content_type="application/json", snapshot=licence_snapshot(active), judge=slice_judge(202), **extra)

    @fuzz(st.sampled_from(HOSTILE))
    def post_raw(text):
        cache.clear()
        attempt(api, "post", f"/api/v1/licences/{active.pk}/slices/", text.encode(), content_type="application/json",
                snapshot=licence_snapshot(active), judge=slice_judge(202))

    post()
    post_raw()


# --- Finance: payments, credit notes, filters, the export, royalties ---------------------------------

@pytest.fixture
def invoice(active):
    draft = invoice_draft(licence=active, reason=InvoiceReason.RESEARCH_FEE, currency="EUR",
                          lines=[("Research licence", Decimal("1"), Decimal("500.00"))])
    return invoice_issue(invoice=draft)


def invoice_snapshot(invoice):
    def snapshot():
        row = Invoice.objects.filter(pk=invoice.pk).values("status", "paid_at").get()
        row["payments"] = Payment.objects.filter(invoice=invoice).count()
        row["invoices"] = Invoice.objects.count()
        return row

    return snapshot


def test_no_payment_or_credit_note_form_answers_500_or_writes_a_refused_one(client, invoice, fiona):
    client.force_login(fiona)

    @fuzz(form_data(PaymentRecordForm, valid={"amount": "10.00"}),
          each_field_broken(PaymentRecordForm, valid={"amount": "10.00"}))
    def pay(data):
        attempt(client, "post", f"/finance/invoices/{invoice.pk}/payments/", data, snapshot=invoice_snapshot(invoice),
                judge=nothing_written_unless(redirected))

    @fuzz(form_data(CreditNoteForm, valid={"amount": "10.00"}),
          each_field_broken(CreditNoteForm, valid={"amount": "10.00"}))
    def credit(data):
        attempt(client, "post", f"/finance/invoices/{invoice.pk}/credit-notes/", data,
                snapshot=invoice_snapshot(invoice), judge=nothing_written_unless(redirected))

    pay()
    credit()


def reads_only(snapshot_value=None):
    return {"snapshot": lambda: snapshot_value, "judge": lambda *args: None}


def test_no_queue_invoice_or_works_filter_and_no_export_period_answers_500(client, invoice, fiona, rita, org_b):
    contributor_user = make_user("pia@photos.example")
    Contributor.objects.create(display_name="Pia", user=contributor_user)

    states = {"states": [("submitted", "Submitted")]}

    @fuzz(form_data(QueueFilterForm, **states), each_field_broken(QueueFilterForm, **states))
    def queue(data):
        attempt(client, "get", "/review/", data, **reads_only())

    @fuzz(form_data(InvoiceFilterForm), each_field_broken(InvoiceFilterForm))
    def invoices(data):
        attempt(client, "get", "/finance/invoices/", data, **reads_only())

    @fuzz(hostile(), KNOWN_BREAKERS)
    def export(period):
        response = attempt(client, "get", "/finance/export.csv", {"period": period}, **reads_only())
        assert response.status_code in (200, 400)

    @fuzz(form_data(WorksFilterForm), each_field_broken(WorksFilterForm))
    def works(data):
        attempt(client, "get", "/contributor/works/", data, **reads_only())

    @fuzz(hostile(), KNOWN_BREAKERS)
    def statement(month):
        response = attempt(client, "get", f"/contributor/statements/{quote(month, safe='')}/", **reads_only())
        assert response.status_code in (200, 404, 301, 302)

    client.force_login(rita)
    queue()
    client.force_login(fiona)
    invoices()
    export()
    client.force_login(contributor_user)
    works()
    statement()


def test_no_royalty_close_or_paid_form_answers_500_or_marks_a_refused_one(client, fiona):
    client.force_login(fiona)
    last_month = add_months(current_month(), -1)
    period, _ = royalty_period_close(month=add_months(last_month, -1), by=fiona)

    def periods():
        return (RoyaltyPeriod.objects.count(), RoyaltyPayout.objects.filter(paid_at__isnull=False).count())

    @fuzz(st.one_of(st.just(f"{last_month:%Y-%m}"), hostile()), KNOWN_BREAKERS)
    def close(month):
        attempt(client, "post", "/finance/royalties/close/", {"month": month}, snapshot=periods,
                judge=nothing_written_unless(redirected))

    @fuzz(form_data(PayoutsPaidForm), each_field_broken(PayoutsPaidForm))
    def paid(data):
        attempt(client, "post", f"/finance/royalties/{period.month:%Y-%m}/paid/", data, snapshot=periods,
                judge=nothing_written_unless(redirected))

    @fuzz(hostile(), KNOWN_BREAKERS)
    def paid_in(month):
        attempt(client, "post", f"/finance/royalties/{quote(month, safe='')}/paid/", {}, snapshot=periods,
                judge=nothing_written_unless(redirected))

    close()
    paid()
    paid_in()


# --- Contributors and organisations -----------------------------------------------------------------

def test_no_opt_out_form_answers_500_or_records_a_refused_choice(client, db):
    user = make_user("ola@films.example")
    contributor = Contributor.objects.create(display_name="Ola", user=user)
    client.force_login(user)

    def choice():
        return (Contributor.objects.get(pk=contributor.pk).opted_out, ContributorConsentChange.objects.count())

    @fuzz(form_data(OptOutConfirmForm), each_field_broken(OptOutConfirmForm))
    def post(data):
        attempt(client, "post", "/contributor/ai-training/opt-out/", data, snapshot=choice,
                judge=nothing_written_unless(redirected))

    post()


def test_no_organisation_invitation_or_api_key_form_answers_500_or_saves_a_refused_one(client, alice, db):
    newcomer = make_user("kim@example.org")

    def counts():
        return (Organisation.objects.count(), Invitation.objects.count(), ApiKey.objects.count())

    @fuzz(form_data(OrganisationForm, valid={"country": "DE"}),
          each_field_broken(OrganisationForm, valid={"country": "DE"}))
    def organisation(data):
        attempt(client, "post", "/organisation/new/", data, snapshot=counts, judge=nothing_written_unless(redirected))

    def at_most_one_more(response, before, after, data):
        assert sum(after) - sum(before) in (0, 1), data

    @fuzz(form_data(InvitationForm), each_field_broken(InvitationForm))
    def invite(data):
        attempt(client, "post", "/organisation/invite/", data, snapshot=counts, judge=at_most_one_more)

    @fuzz(form_data(ApiKeyForm), each_field_broken(ApiKeyForm))
    def api_key(data):
        attempt(client, "post", "/organisation/api-keys/", data, snapshot=counts,
                judge=nothing_written_unless(redirected))

    client.force_login(newcomer)
    organisation()
    client.force_login(alice)
    invite()
    api_key()


class SignupFields(forms.Form):
    email = forms.EmailField()
    password1 = forms.CharField(initial="a-long-pass-phrase-42")
    password2 = forms.CharField(initial="a-long-pass-phrase-42")


def test_no_signup_or_login_answers_500_or_makes_a_refused_account(client, db):
    good = {"valid": {"password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"}}

    def users():
        return User.objects.count()

    @fuzz(form_data(SignupFields, **good), each_field_broken(SignupFields, **good))
    def signup(data):
        cache.clear()  # allauth's rate limits live in the cache
        attempt(client, "post", "/accounts/signup/", data, snapshot=users, judge=nothing_written_unless(redirected))

    @fuzz(st.fixed_dictionaries({"login": hostile(), "password": hostile()}),
          [{"login": value, "password": "pw"} for value in KNOWN_BREAKERS])
    def login(data):
        cache.clear()
        attempt(client, "post", "/accounts/login/", data, snapshot=users, judge=nothing_written_unless(lambda r: False))

    signup()
    login()


# --- The findings that started this, each as it was reported ----------------------------------------

@pytest.mark.parametrize(("action", "field", "value"), [
    ("approve", "max_assets", str(2**31)), ("approve", "max_gigabytes", "9000000000"),
    ("approve", "max_slices", str(10**30)), ("make_offer", "max_assets", str(2**31)),
    ("make_offer", "max_gigabytes", "9000000000"), ("make_offer", "max_slices", str(10**30)),
    ("make_offer", "fee", str(10**30)), ("make_offer", "scope", "x" * 10_000), ("reject", "reason", "no\x00"),
])
def test_a_cap_or_text_the_columns_cannot_hold_is_refused_beside_its_field(client, org_a, alice, staff, action,
                                                                          field, value):
    state, who = ACTORS[action]
    licence = licence_in(state, org_a, alice)
    client.force_login(staff[who])
    valid = {"approve": {"max_assets": "10", "max_gigabytes": "1", "max_slices": "2", "duration_days": "30"},
             "make_offer": {"fee": "1000", "currency": "EUR", "billing_period": "one_off", "term_months": "12",
                            "scope": "Product model", "territory": "Worldwide"},
             "reject": {"reason": "Out of scope"}}[action]
    data = {f"{action}-{k}": v for k, v in {**valid, "version": licence.version, field: value}.items()}
    before = licence_snapshot(licence)()

    response = client.post(f"/licences/{licence.pk}/{action}/", data)

    assert response.status_code == 400
    assert f'id="id_{action}-{field}_error"' in response.content.decode() or "Null characters" in \
        response.content.decode()
    assert licence_snapshot(licence)() == before


def test_the_largest_caps_the_form_allows_are_stored(client, org_a, alice, rita):
    licence = licence_in("submitted", org_a, alice)
    client.force_login(rita)

    response = client.post(f"/licences/{licence.pk}/approve/", {
        "approve-version": licence.version, "approve-max_assets": str(2**31 - 1),
        "approve-max_gigabytes": "8589934591", "approve-max_slices": str(2**31 - 1), "approve-duration_days": "30",
    })

    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.state, licence.max_assets, licence.max_slices) == ("research_active", 2**31 - 1, 2**31 - 1)
    assert licence.max_bytes == 8589934591 * 1024**3 < 2**63


def test_a_queue_filter_of_a_century_or_more_is_refused_and_says_how_far_it_goes(client, rita):
    client.force_login(rita)

    response = client.get("/review/", {"older_than_days": "99999999999"})

    assert response.status_code == 200
    assert "At most 36,500 days (a hundred years)." in response.content.decode()


@pytest.mark.parametrize(("period", "message"), [
    ("9999-12", "Give a year from 2000 to 9998: Tessera keeps no books for 9999."),
    ("99999999999-01", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
    ("2026-13", "Give the period as YYYY-MM, e.g. ?period=2026-11."),
])
def test_an_export_period_past_the_calendar_is_refused_with_what_to_write(client, fiona, period, message):
    client.force_login(fiona)

    response = client.get("/finance/export.csv", {"period": period})

    assert (response.status_code, response.content.decode()) == (400, message)


@pytest.mark.parametrize("period", ["9999-12", "99999999999-01", "0-1"])
def test_an_invoice_filter_period_past_the_calendar_is_refused_beside_the_field(client, fiona, period):
    client.force_login(fiona)

    response = client.get("/finance/invoices/", {"period": period})

    assert response.status_code == 200
    assert 'id="id_period_error"' in response.content.decode()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"slice-min_width": str(10**30)}, "min_width", "Minimum width (px): At most 1,000,000 pixels."),
    ({"slice-max_duration": "1e300"}, "max_duration", "Maximum video duration (s): At most 604,800 seconds (7 days)."),
    ({"slice-tags": "x" * 10_000}, "tags", "Ensure this value has at most 1040 characters (it has 10000)."),
    ({"slice-tags": ", ".join(f"t{n}" for n in range(21))}, "tags", "At most 20 tags, not 21."),
    ({"slice-tags": "city, " + "y" * 51}, "tags", "A tag can be at most 50 characters; “yyyyyyyyyyyyyyyyyyyy…” "
                                                  "has 51."),
])
def test_the_slice_page_refuses_what_the_api_refuses_beside_the_field(client, active, alice, data, field, message):
    client.force_login(alice)

    response = client.post(f"/licences/{active.pk}/slices/", {"slice-size": "2", **data})

    assert response.status_code == 400
    assert f'id="id_slice-{field}_error"' in response.content.decode()
    assert message in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert not Slice.objects.exists()


@pytest.mark.parametrize(("body", "fields"), [
    ({"size": 2, "tags": ["city", "y" * 51]}, {"tags": {"1": ["Ensure this field has no more than 50 characters."]}}),
    ({"size": 2, "min_width": 10**30}, {"min_width": ["Ensure this value is less than or equal to 1000000."]}),
    ({"size": 2, "tags": ["a\x00b"]}, {"tags": {"0": ["Null characters are not allowed."]}}),
    ({"size": 2, "tags": ["bell\x07"]}, {"tags": ["Cannot contain control characters."]}),
    ({"size": 2, "min_duration": 1e300}, {"min_duration": ["Ensure this value is less than or equal to 604800."]}),
])
def test_the_api_refuses_filters_past_the_service_limits_naming_the_field(active, org_a, body, fields):
    _, plaintext = api_key_create(organisation=org_a, by=None, name="pipeline", scopes=list(ApiKey.SCOPES),
                                  expires_days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    response = api.post(f"/api/v1/licences/{active.pk}/slices/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert not Slice.objects.exists()


@pytest.fixture(scope="module", autouse=True)
def report_inputs_tried():
    yield
    if TRIED:
        print(f"\n{sum(TRIED.values())} generated inputs over {len(TRIED)} endpoints, no 5xx:")
        for url, count in sorted(TRIED.items()):
            print(f"  {count:5}  {url}")


# --- Usage reports: the upload through the API and the page, and the job that reads the file ---------

REPORT_LINES = st.one_of(
    st.sampled_from(HOSTILE).map(str.encode),
    st.fixed_dictionaries({
        "output_id": st.one_of(st.sampled_from(HOSTILE), st.integers(), st.none()),
        "revenue": st.one_of(st.sampled_from(HOSTILE), st.floats(), st.integers(min_value=-(10**30), max_value=10**30)),
        "currency": st.sampled_from(["EUR", "USD", "", None, 1]),
        "scores": st.one_of(st.dictionaries(st.sampled_from(HOSTILE), st.one_of(st.floats(), st.sampled_from(HOSTILE)),
                                            max_size=3), st.sampled_from(HOSTILE)),
    }).map(lambda line: json.dumps(line).encode()),
)


@pytest.fixture
def reporting(org_a, alice):
    from tests.licensing.attribution_world import attribution_world

    return attribution_world(org_a, alice)


def test_no_usage_report_upload_or_its_processing_answers_500_or_stores_a_refused_one(client, reporting, alice,
                                                                                      org_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from licensing.forms.attribution import UsageReportForm
    from licensing.models import UsageReport
    from licensing.services.attribution import usage_report_process

    _, plaintext = api_key_create(organisation=org_a, by=None, name="pipeline", scopes=list(ApiKey.SCOPES),
                                  expires_days=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    base = f"/api/v1/models/{reporting.model.pk}/versions/{reporting.version.pk}/usage-reports/"
    page = f"/ai-models/{reporting.model.pk}/versions/{reporting.version.pk}/usage-reports/"

    def reports():
        return UsageReport.objects.count()

    def processed_whole(response, before, after, data):
        if after == before:
            return
        assert response.status_code in (202, 302), (response.status_code, data)
        assert after == before + 1
        for report in UsageReport.objects.all():  # the job reads whatever was sent, and never raises
            report = usage_report_process(report_id=report.pk)
            assert report.status in ("processed", "rejected"), report.status

    fields = st.fixed_dictionaries({
        "reference": st.one_of(st.just("q3"), hostile()), "period_start": st.one_of(st.just("2026-07-01"), hostile()),
        "period_end": st.one_of(st.just("2026-09-30"), hostile()), "licence": st.one_of(st.just(""), hostile()),
        "format": st.sampled_from(["", "jsonl", "csv", "xml"]),
    })

    @fuzz(st.tuples(fields, st.lists(REPORT_LINES, max_size=4), st.sampled_from(["r.jsonl", "r.csv", "r"])))
    def post(request):
        data, lines, name = request
        cache.clear()
        body = {key: value for key, value in data.items() if value}
        body["file"] = SimpleUploadedFile(name, b"\n".join(lines))
        attempt(api, "post", base, body, format="multipart", snapshot=reports, judge=processed_whole)

    @fuzz(st.tuples(st.sampled_from(HOSTILE), st.sampled_from(["application/x-ndjson", "text/csv",
                                                               "application/json"])))
    def post_raw(request):
        text, content_type = request
        cache.clear()
        attempt(api, "post", f"{base}?reference=q3&period_start=2026-07-01&period_end=2026-09-30", text.encode(),
                content_type=content_type, snapshot=reports, judge=processed_whole)

    client.force_login(alice)

    @fuzz(form_data(UsageReportForm), each_field_broken(UsageReportForm))
    def upload_page(data):
        data = {key: value for key, value in data.items() if key != "file"}
        data["file"] = SimpleUploadedFile("r.jsonl", b'{"output_id": "o", "revenue": 1, "scores": {}}\n')
        attempt(client, "post", page, data, snapshot=reports, judge=processed_whole)

    post()
    post_raw()
    upload_page()

"""The licence state machine, as one table: state × action → target, guard, who may.

Services in licensing/services/licences.py are the only callers. `check` either
returns the transition to apply or raises LicenceActionRefused with a sentence a
person can act on; it never changes anything.
"""
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER, roles_of
from licensing.models.licences import LicencePhase, LicenceState

S = LicenceState

# Who may act, as the table names them.
APPLICANT = "applicant"  # a member of the licence's organisation
SYSTEM = "system"  # a beat or payment job, acting with no user
ACTOR_LABELS = {
    APPLICANT: "the applicant",
    REVIEWER: "a reviewer",
    LICENSOR_ADMIN: "a licensor admin",
    FINANCE: "finance",
    SYSTEM: "a scheduled job",
}

TERMINAL = frozenset({S.REJECTED, S.WITHDRAWN, S.EXPIRED, S.REVOKED})
NON_TERMINAL = frozenset(set(S) - TERMINAL)
# States in which the licence grants data: slices may be requested.
ACTIVE = frozenset({S.RESEARCH_ACTIVE, S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED, S.AWAITING_PAYMENT, S.COMMERCIAL_ACTIVE})

PHASE_OF_STATE = {
    S.DRAFT: LicencePhase.APPLICATION,
    S.SUBMITTED: LicencePhase.APPLICATION,
    S.CHANGES_REQUESTED: LicencePhase.APPLICATION,
    S.REJECTED: LicencePhase.APPLICATION,
    S.WITHDRAWN: LicencePhase.APPLICATION,
    S.RESEARCH_ACTIVE: LicencePhase.RESEARCH,
    S.UPGRADE_REQUESTED: LicencePhase.RESEARCH,
    S.UPGRADE_OFFERED: LicencePhase.RESEARCH,
    # Until the invoice is paid the research licence is what holds.
    S.AWAITING_PAYMENT: LicencePhase.RESEARCH,
    S.COMMERCIAL_ACTIVE: LicencePhase.COMMERCIAL,
    # Suspension, expiry and revocation keep the phase the licence was in.
}


class LicenceActionRefused(Exception):
    """An action the workflow does not allow here; the message says why. Nothing was changed."""


class StaleLicence(LicenceActionRefused):
    """The page the action came from showed an older version of the licence."""


def _term_over(licence, now):
    if licence.state == S.COMMERCIAL_ACTIVE:
        if licence.commercial_ends_at is None or licence.commercial_ends_at > now:
            return "the commercial term is not over"
    elif licence.research_ends_at is None or licence.research_ends_at > now:
        return "the research licence has not reached its end date"
    return None


def _application_complete(licence, now):
    if licence.terms_accepted_at is None:
        return "the research terms have not been accepted"
    if not licence.media_kinds:
        return "the application names no media kinds"
    return None


def _suspended_while_awaiting_payment(licence, now):
    if licence.state == S.SUSPENDED and licence.suspended_from != S.AWAITING_PAYMENT:
        return "the licence was not suspended for an unpaid invoice"
    return None


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset
    target: str | None  # None: back to the state the licence was suspended from
    who: frozenset
    label: str
    guard: object = None  # callable(licence, now) -> None when allowed, else the reason
    requires: tuple = field(default=())  # payload keys that must be non-empty, e.g. ("reason",)


TABLE = {
    t.action: t
    for t in [
        Transition("submit", frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED, frozenset({APPLICANT}),
                   "Submit the application", guard=_application_complete),
        Transition("request_changes", frozenset({S.SUBMITTED}), S.CHANGES_REQUESTED,
                   frozenset({REVIEWER, LICENSOR_ADMIN}), "Request changes", requires=("message",)),
        Transition("approve", frozenset({S.SUBMITTED}), S.RESEARCH_ACTIVE, frozenset({REVIEWER, LICENSOR_ADMIN}),
                   "Approve the research licence"),
        Transition("reject", frozenset({S.SUBMITTED}), S.REJECTED, frozenset({REVIEWER, LICENSOR_ADMIN}),
                   "Reject the application", requires=("reason",)),
        Transition("withdraw", frozenset({S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED}), S.WITHDRAWN,
                   frozenset({APPLICANT}), "Withdraw the application"),
        Transition("request_upgrade", frozenset({S.RESEARCH_ACTIVE}), S.UPGRADE_REQUESTED, frozenset({APPLICANT}),
                   "Ask for a commercial licence", requires=("intended_use", "expected_scale")),
        Transition("make_offer", frozenset({S.UPGRADE_REQUESTED}), S.UPGRADE_OFFERED, frozenset({LICENSOR_ADMIN}),
                   "Make a commercial offer"),
        Transition("decline_upgrade", frozenset({S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED}), S.RESEARCH_ACTIVE,
                   frozenset({LICENSOR_ADMIN}), "Decline the upgrade", requires=("reason",)),
        Transition("accept_offer", frozenset({S.UPGRADE_OFFERED}), S.AWAITING_PAYMENT, frozenset({APPLICANT}),
                   "Accept the commercial offer"),
        Transition("record_payment", frozenset({S.AWAITING_PAYMENT, S.SUSPENDED}), S.COMMERCIAL_ACTIVE,
                   frozenset({FINANCE, SYSTEM}), "Record the payment", guard=_suspended_while_awaiting_payment),
        Transition("expire", frozenset({S.RESEARCH_ACTIVE, S.COMMERCIAL_ACTIVE}), S.EXPIRED, frozenset({SYSTEM}),
                   "Expire the licence", guard=_term_over),
        Transition("suspend", frozenset({S.RESEARCH_ACTIVE, S.COMMERCIAL_ACTIVE, S.AWAITING_PAYMENT}), S.SUSPENDED,
                   frozenset({LICENSOR_ADMIN, SYSTEM}), "Suspend the licence", requires=("reason",)),
        # The payment job reinstates a licence the dunning job suspended, once the invoice is paid.
        Transition("reinstate", frozenset({S.SUSPENDED}), None, frozenset({LICENSOR_ADMIN, SYSTEM}),
                   "Reinstate the licence"),
        Transition("revoke", NON_TERMINAL, S.REVOKED, frozenset({LICENSOR_ADMIN}), "Revoke the licence",
                   requires=("reason",)),
    ]
}


def actor_kinds(user, licence):
    """What the user is to this licence, in the table's terms. `None` is a scheduled job."""
    if user is None:
        return {SYSTEM}
    kinds = set(roles_of(user))
    membership = getattr(user, "membership", None)
    if membership is not None and membership.organisation_id == licence.organisation_id:
        kinds.add(APPLICANT)
    return kinds


def target_of(transition, licence):
    return transition.target if transition.target is not None else licence.suspended_from


def phase_after(licence, target):
    return PHASE_OF_STATE.get(target, licence.phase)


def check(licence, action, user, payload=None, *, now=None):
    """Return the transition for `action` on `licence` by `user`, or raise LicenceActionRefused."""
    now = now or timezone.now()
    transition = TABLE.get(action)
    state_label = LicenceState(licence.state).label.lower()
    if transition is None:
        raise LicenceActionRefused(f"“{action}” is not something that can be done to a licence.")
    if licence.state not in transition.sources:
        allowed = ", ".join(sorted(LicenceState(s).label.lower() for s in transition.sources))
        raise LicenceActionRefused(
            f"Cannot {transition.label.lower()}: the licence is {state_label}; this is possible only when it is {allowed}."
        )
    if not actor_kinds(user, licence) & transition.who:
        who = " or ".join(ACTOR_LABELS[w] for w in sorted(transition.who))
        raise LicenceActionRefused(f"Only {who} can {transition.label.lower()}.")
    if transition.guard is not None:
        reason = transition.guard(licence, now)
        if reason:
            raise LicenceActionRefused(f"Cannot {transition.label.lower()}: {reason}.")
    missing = [key for key in transition.requires if not str((payload or {}).get(key) or "").strip()]
    if missing:
        raise LicenceActionRefused(
            f"Cannot {transition.label.lower()} without a {missing[0].replace('_', ' ')}."
        )
    return transition


def available_actions(licence, user, *, now=None):
    """The actions this user could take now, for showing buttons (payload requirements aside)."""
    now = now or timezone.now()
    kinds = actor_kinds(user, licence)
    names = []
    for action, transition in TABLE.items():
        if licence.state in transition.sources and kinds & transition.who:
            if transition.guard is None or transition.guard(licence, now) is None or action == "submit":
                names.append(action)
    return names

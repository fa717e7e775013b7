"""The licence state machine, as one table: state × action → target, guard, who may.

Services in licensing/services/licences.py are the only callers. `check` either
returns the transition to apply or raises LicenceActionRefused with a sentence a
person can act on; it never changes anything.
"""
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER, roles_of
from licensing.models.licences import LicencePhase, LicenceState

S = LicenceState

# Who may act, as the table names them.
APPLICANT = "applicant"  # a member of the licence's organisation
SYSTEM = "system"  # a beat or payment job, acting with no user
ACTOR_LABELS = {
    APPLICANT: _("the applicant"),
    REVIEWER: _("a reviewer"),
    LICENSOR_ADMIN: _("a licensor admin"),
    FINANCE: _("finance"),
    SYSTEM: _("a scheduled job"),
}

# A state as a sentence names it: "the licence is research active".
STATE_IN_SENTENCE = {
    S.DRAFT: _("draft"),
    S.SUBMITTED: _("submitted"),
    S.CHANGES_REQUESTED: _("changes requested"),
    S.RESEARCH_ACTIVE: _("research active"),
    S.REJECTED: _("rejected"),
    S.WITHDRAWN: _("withdrawn"),
    S.UPGRADE_REQUESTED: _("upgrade requested"),
    S.UPGRADE_OFFERED: _("upgrade offered"),
    S.AWAITING_PAYMENT: _("awaiting payment"),
    S.COMMERCIAL_ACTIVE: _("commercial active"),
    S.SUSPENDED: _("suspended"),
    S.EXPIRED: _("expired"),
    S.REVOKED: _("revoked"),
}
# What an action asks for, as "Cannot … without a …" names it.
REQUIRED_IN_SENTENCE = {
    "message": _("message"),
    "reason": _("reason"),
    "intended_use": _("intended use"),
    "expected_scale": _("expected scale"),
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
            return gettext("the commercial term is not over")
    elif licence.research_ends_at is None or licence.research_ends_at > now:
        return gettext("the research licence has not reached its end date")
    return None


def _application_complete(licence, now):
    if licence.terms_accepted_at is None:
        return gettext("the research terms have not been accepted")
    if not licence.media_kinds:
        return gettext("the application names no media kinds")
    return None


def _suspended_while_awaiting_payment(licence, now):
    if licence.state == S.SUSPENDED and licence.suspended_from != S.AWAITING_PAYMENT:
        return gettext("the licence was not suspended for an unpaid invoice")
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
    # The action as a sentence names it ("Cannot submit the application: …"); the label begins a button.
    phrase: str = ""

    def in_sentence(self):
        return str(self.phrase) if self.phrase else str(self.label).lower()


TABLE = {
    t.action: t
    for t in [
        Transition("submit", frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED, frozenset({APPLICANT}),
                   _("Submit the application"), phrase=_("submit the application"), guard=_application_complete),
        Transition("request_changes", frozenset({S.SUBMITTED}), S.CHANGES_REQUESTED,
                   frozenset({REVIEWER, LICENSOR_ADMIN}), _("Request changes"),
                   phrase=_("request changes"), requires=("message",)),
        Transition("approve", frozenset({S.SUBMITTED}), S.RESEARCH_ACTIVE, frozenset({REVIEWER, LICENSOR_ADMIN}),
                   _("Approve the research licence"), phrase=_("approve the research licence")),
        Transition("reject", frozenset({S.SUBMITTED}), S.REJECTED, frozenset({REVIEWER, LICENSOR_ADMIN}),
                   _("Reject the application"), phrase=_("reject the application"), requires=("reason",)),
        Transition("withdraw", frozenset({S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED}), S.WITHDRAWN,
                   frozenset({APPLICANT}), _("Withdraw the application"), phrase=_("withdraw the application")),
        Transition("request_upgrade", frozenset({S.RESEARCH_ACTIVE}), S.UPGRADE_REQUESTED, frozenset({APPLICANT}),
                   _("Ask for a commercial licence"),
                   phrase=_("ask for a commercial licence"), requires=("intended_use", "expected_scale")),
        Transition("make_offer", frozenset({S.UPGRADE_REQUESTED}), S.UPGRADE_OFFERED, frozenset({LICENSOR_ADMIN}),
                   _("Make a commercial offer"), phrase=_("make a commercial offer")),
        Transition("decline_upgrade", frozenset({S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED}), S.RESEARCH_ACTIVE,
                   frozenset({LICENSOR_ADMIN}), _("Decline the upgrade"),
                   phrase=_("decline the upgrade"), requires=("reason",)),
        Transition("accept_offer", frozenset({S.UPGRADE_OFFERED}), S.AWAITING_PAYMENT, frozenset({APPLICANT}),
                   _("Accept the commercial offer"), phrase=_("accept the commercial offer")),
        Transition("record_payment", frozenset({S.AWAITING_PAYMENT, S.SUSPENDED}), S.COMMERCIAL_ACTIVE,
                   frozenset({FINANCE, SYSTEM}), _("Record the payment"),
                   phrase=_("record the payment"), guard=_suspended_while_awaiting_payment),
        Transition("expire", frozenset({S.RESEARCH_ACTIVE, S.COMMERCIAL_ACTIVE}), S.EXPIRED, frozenset({SYSTEM}),
                   _("Expire the licence"), phrase=_("expire the licence"), guard=_term_over),
        Transition("suspend", frozenset({S.RESEARCH_ACTIVE, S.COMMERCIAL_ACTIVE, S.AWAITING_PAYMENT}), S.SUSPENDED,
                   frozenset({LICENSOR_ADMIN, SYSTEM}), _("Suspend the licence"),
                   phrase=_("suspend the licence"), requires=("reason",)),
        # The payment job reinstates a licence the dunning job suspended, once the invoice is paid.
        Transition("reinstate", frozenset({S.SUSPENDED}), None, frozenset({LICENSOR_ADMIN, SYSTEM}),
                   _("Reinstate the licence"), phrase=_("reinstate the licence")),
        Transition("revoke", NON_TERMINAL, S.REVOKED, frozenset({LICENSOR_ADMIN}), _("Revoke the licence"),
                   phrase=_("revoke the licence"), requires=("reason",)),
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
    if transition is None:
        raise LicenceActionRefused(gettext("“%(action)s” is not something that can be done to a licence.")
                                   % {"action": action})
    action_phrase = transition.in_sentence()
    if licence.state not in transition.sources:
        allowed = ", ".join(sorted(str(state_in_sentence(s)) for s in transition.sources))
        raise LicenceActionRefused(
            gettext("Cannot %(action)s: the licence is %(state)s; this is possible only when it is %(allowed)s.")
            % {"action": action_phrase, "state": state_in_sentence(licence.state), "allowed": allowed}
        )
    if not actor_kinds(user, licence) & transition.who:
        who = _either([ACTOR_LABELS[w] for w in sorted(transition.who)])
        raise LicenceActionRefused(gettext("Only %(who)s can %(action)s.") % {"who": who, "action": action_phrase})
    if transition.guard is not None:
        reason = transition.guard(licence, now)
        if reason:
            raise LicenceActionRefused(gettext("Cannot %(action)s: %(reason)s.")
                                       % {"action": action_phrase, "reason": reason})
    missing = [key for key in transition.requires if not str((payload or {}).get(key) or "").strip()]
    if missing:
        what = REQUIRED_IN_SENTENCE.get(missing[0], missing[0].replace("_", " "))
        raise LicenceActionRefused(gettext("Cannot %(action)s without a %(what)s.")
                                   % {"action": action_phrase, "what": what})
    return transition


def state_in_sentence(state):
    return STATE_IN_SENTENCE.get(state) or LicenceState(state).label.lower()


def _either(names):
    """"a or b or c", in the reader's words."""
    text = str(names[0])
    for name in names[1:]:
        text = gettext("%(first)s or %(second)s") % {"first": text, "second": name}
    return text


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

"""Rights signals, in and out.

In: the C2PA / CAWG training-and-mining assertion a file carries (`cawg.training-mining`, and its
C2PA 1.x predecessor `c2pa.training-mining`), read with c2pa-python while files are verified.

Out: what every download says about the work it carries (`download_rights_headers`): the RSL
licence document (`Link: …; rel="license"`), the IETF AI-preferences `Content-Usage` field
(draft-ietf-aipref-vocab-07 / attach-05: `train-ai=n` for a reserved work) and W3C TDMRep
(`tdm-reservation`, with `tdm-policy` pointing at the catalogue's ODRL offer); the RSL 1.0
document itself (`/license.xml`) and robots.txt that points at it.
"""
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext

from licensing.models import TrainingSignal

ASSERTION_LABELS = ("cawg.training-mining", "c2pa.training-mining")
# Which entries speak about AI training; data mining and inference do not keep a work out of a slice.
TRAINING_KEYS = ("ai_training", "ai_generative_training")
RSL_NAMESPACE = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
AIPREF_DRAFT = "draft-ietf-aipref-vocab-07"

try:  # the native library ships in the wheel; without it the files are still verified, their signals not read
    import c2pa
except ImportError:  # pragma: no cover
    c2pa = None


@dataclass(frozen=True)
class TrainingAssertion:
    signal: str  # a TrainingSignal value
    text: str  # the constraint text, or what the file said


def read_training_assertion(stream, mime_type):
    """The file's training signal, or None when it carries no C2PA manifest (or one without the assertion)."""
    if c2pa is None:
        return None
    try:
        context = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
        with context, c2pa.Reader(mime_type, stream, context=context) as reader:
            store = json.loads(reader.json())
    except Exception:  # no manifest, a format the SDK does not read, a broken manifest: no signal
        return None
    manifest = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    entries = {}
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") in ASSERTION_LABELS:
            for key, entry in (assertion.get("data") or {}).get("entries", {}).items():
                name = key.split(".", 1)[-1] if key.startswith(("cawg.", "c2pa.")) else None
                if name in TRAINING_KEYS and isinstance(entry, dict):
                    entries[f"cawg.{name}"] = entry
    return training_signal_of(entries)


def training_signal_of(entries):
    """Most restrictive wins: notAllowed, then constrained (treated as notAllowed until staff clear it)."""
    if not entries:
        return None
    refused = sorted(key for key, entry in entries.items() if entry.get("use") == "notAllowed")
    if refused:
        return TrainingAssertion(TrainingSignal.NOT_ALLOWED,
                                 f"The file's C2PA manifest says {', '.join(refused)}: notAllowed.")
    constrained = sorted(key for key, entry in entries.items() if entry.get("use") == "constrained")
    if constrained:
        # The CDDL says constraint_info; the prose once said constraints_info.
        infos = [str(entries[k].get("constraint_info") or entries[k].get("constraints_info") or "").strip()
                 for k in constrained]
        text = "; ".join(f"{k}: {info or 'no constraint given'}" for k, info in zip(constrained, infos))
        return TrainingAssertion(TrainingSignal.CONSTRAINED, text)
    if any(entry.get("use") == "allowed" for entry in entries.values()):
        return TrainingAssertion(TrainingSignal.ALLOWED, "")
    return None


def withdrawal_text(asset):
    """What a licensee is told when a file's own assertion takes its work out of their slice."""
    if asset.training_signal == TrainingSignal.NOT_ALLOWED:
        return "The rightsholder's C2PA assertion in the file does not allow AI training."
    return f"The rightsholder's C2PA assertion in the file constrains AI training ({asset.training_signal_text})."


# --- Out ---------------------------------------------------------------------------

def licence_document_url():
    return settings.SITE_URL.rstrip("/") + _path("rsl_licence")


def catalogue_offer_url():
    return settings.SITE_URL.rstrip("/") + _path("catalogue_offer_terms")


def _path(name):
    # Every download names both documents: reversing them each time was a tenth of a download's time.
    return _reversed(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@functools.lru_cache(maxsize=32)
def _reversed(name, urlconf, prefix):
    return reverse(name, urlconf=urlconf)


def tdm_policy_url():
    return getattr(settings, "TDM_POLICY_URL", "") or catalogue_offer_url()


# The withdrawal reason an opt-out records (SliceItem.withdrawal_reason); other reasons are the licensor's words.
OPT_OUT = "opt_out"


def download_rights_headers(asset):
    """The rights headers of a download of `asset` (an Asset with its contributor, or a DownloadableItem):
    one place for all of them."""
    reserved = asset.reserved_from_training
    headers = {
        "Link": f'<{licence_document_url()}>; rel="license"; type="{RSL_MEDIA_TYPE}"',
        # A licensee's contract governs its own use; the field states the rightsholder's preference.
        "Content-Usage": "train-ai=n" if reserved else "train-ai=y",
        "tdm-policy": tdm_policy_url(),
    }
    if reserved:
        headers["tdm-reservation"] = "1"
    return headers


def withdrawn_message(item):
    """The 410 body for a withdrawn item: the reason the licensee is given."""
    if item.withdrawal_reason and item.withdrawal_reason != OPT_OUT:
        return (f"Withdrawn on {item.withdrawn_at:%d %B %Y}: {_sentence(item.withdrawal_reason)} "
                "Delete this item from your copies of the slice.")
    return ("Withdrawn: the contributor opted out of AI training on "
            f"{item.withdrawn_at:%d %B %Y}. Delete this item from your copies of the slice.")


def withdrawal_reason_text(reason):
    """A withdrawal reason as a person reads it on a page: the licensor's own words, or what an opt-out means."""
    if not reason or reason == OPT_OUT:
        return gettext("The contributor opted out of AI training.")
    return _sentence(reason)


def _sentence(text):
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def rsl_document(*, research_fee=None, currency="EUR"):
    """The RSL 1.0 licence document for the catalogue: the research and the commercial licence as two
    RSL licences of the delivered files, each pointing at its terms and at the catalogue's ODRL offer."""
    base = settings.SITE_URL.rstrip("/")
    fee = Decimal(settings.RESEARCH_FEE if research_fee is None else research_fee).quantize(Decimal("0.01"))
    contact = settings.LICENSING_CONTACT
    offer = catalogue_offer_url()
    apply = base + reverse("licence_apply")
    research_payment = (
        f'      <payment type="free">\n        <standard>{escape(offer)}</standard>\n'
        f"        <custom>{escape(apply)}</custom>\n      </payment>\n"
        if fee == 0 else
        f'      <payment type="training">\n        <standard>{escape(offer)}</standard>\n'
        f"        <custom>{escape(apply)}</custom>\n"
        f'        <amount currency={quoteattr(currency)}>{fee}</amount>\n      </payment>\n'
    )
    licensor = escape(getattr(settings, "LICENSOR_NAME", "Tessera Licensing"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rsl xmlns="{RSL_NAMESPACE}">\n'
        f'  <content url={quoteattr(base + "/dl/*")}>\n'
        "    <!-- The research licence: capped slices, for research and evaluation only (RSL has no purpose\n"
        "         vocabulary: the purpose is in the ODRL offer this licence points at). -->\n"
        "    <license>\n"
        '      <permits type="usage">ai-train</permits>\n'
        f"{research_payment}"
        f'      <legal type="contact">{escape(contact)}</legal>\n'
        "    </license>\n"
        "    <!-- The commercial licence: offered per licensee, after the research phase. -->\n"
        "    <license>\n"
        '      <permits type="usage">ai-train</permits>\n'
        '      <permits type="user">commercial</permits>\n'
        '      <payment type="training">\n'
        f"        <standard>{escape(offer)}</standard>\n"
        f"        <custom>{escape(apply)}</custom>\n"
        "      </payment>\n"
        f'      <legal type="contact">{escape(contact)}</legal>\n'
        "    </license>\n"
        f'    <copyright type="organization" contactEmail={quoteattr(contact)}>{licensor}</copyright>\n'
        f"    <terms>{escape(base + reverse('transparency'))}</terms>\n"
        "  </content>\n"
        f'  <content url={quoteattr(base + "/transparency/*")}>\n'
        "    <license>\n"
        '      <permits type="usage">search</permits>\n'
        '      <prohibits type="usage">ai-train</prohibits>\n'
        "    </license>\n"
        "  </content>\n"
        "</rsl>\n"
    )


def robots_txt():
    """robots.txt: crawlers keep out of the private pages; the licence document is named file-wide (RSL)."""
    return (
        "User-agent: *\n"
        "Disallow: /admin/\n"
        "Disallow: /accounts/\n"
        "Disallow: /api/\n"
        "Disallow: /dl/\n"
        "Disallow: /finance/\n"
        "Disallow: /review/\n"
        "Disallow: /staff/\n"
        "Disallow: /catalogue/\n"
        "Allow: /\n"
        f"# AI preferences ({AIPREF_DRAFT}): the pages are not licensed for training; the catalogue is, "
        "under the licence below.\n"
        "Content-Usage: train-ai=n\n"
        "\n"
        f"License: {licence_document_url()}\n"
    )

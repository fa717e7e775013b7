"""Standard Webhooks verification: `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """The request is not a webhook from Tessera signed with one of your secrets: answer it 400 or 401."""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise WebhookVerificationError("The secret is not whsec_ followed by base64.") from None


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify_webhook(body: bytes | str, headers: Mapping[str, str], secrets: str | Iterable[str], *,
                   tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> dict[str, Any]:
    """The event ({"type", "timestamp", "data"}) if one signature in the headers verifies with one of the
    secrets (pass both while you rotate), else WebhookVerificationError. Pass the raw body, unparsed."""
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id, stamp, signatures = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a whole number of seconds.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp is more than {tolerance} s from now: refused as a replay.")
    raw = body.encode() if isinstance(body, str) else body
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    expected = {sign_webhook(secret, msg_id, timestamp, raw) for secret in candidates}
    for signature in signatures.split():
        if any(hmac.compare_digest(signature, e) for e in expected):
            return json.loads(raw)
    raise WebhookVerificationError("No signature matches: check the endpoint's secret.")

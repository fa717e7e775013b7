"""verify_webhook against the independent standardwebhooks package's signatures."""
import base64
import json
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook

from tessera_client import WebhookVerificationError, sign_webhook, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
BODY = json.dumps({"type": "slice.ready", "timestamp": "2026-12-01T10:00:00.000Z", "data": {"slice": 5}}).encode()
NOW = 1_800_000_000


def headers(secret=SECRET, msg_id="msg_1", timestamp=NOW, extra=()):
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), BODY.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join([*extra, signature])}


def test_it_accepts_what_standardwebhooks_signs():
    assert verify_webhook(BODY, headers(), SECRET, now=NOW)["data"] == {"slice": 5}


def test_its_signature_is_the_one_standardwebhooks_makes():
    expected = headers()["webhook-signature"]
    assert sign_webhook(SECRET, "msg_1", NOW, BODY) == expected


def test_it_accepts_any_of_several_signatures_and_secrets_while_rotating():
    both = headers(secret=OTHER, extra=[headers()["webhook-signature"]])
    assert verify_webhook(BODY, both, OTHER, now=NOW)
    assert verify_webhook(BODY, both, [SECRET], now=NOW)
    assert verify_webhook(BODY, headers(), [OTHER, SECRET], now=NOW)


def test_it_refuses_another_secret_a_changed_body_and_an_old_timestamp():
    with pytest.raises(WebhookVerificationError, match="No signature matches"):
        verify_webhook(BODY, headers(), OTHER, now=NOW)
    with pytest.raises(WebhookVerificationError, match="No signature matches"):
        verify_webhook(BODY + b" ", headers(), SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError, match="300 s"):
        verify_webhook(BODY, headers(), SECRET, now=NOW + 301)


def test_it_refuses_missing_headers_case_insensitively_found():
    upper = {k.upper(): v for k, v in headers().items()}
    assert verify_webhook(BODY, upper, SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError, match="Missing"):
        verify_webhook(BODY, {"webhook-id": "msg_1"}, SECRET, now=NOW)

"""tessera-client: pull licensed slices from Tessera, keep them in step with withdrawals, verify webhooks."""
from .client import PullReport, SyncReport, Tessera, TesseraError
from .webhooks import WebhookVerificationError, sign_webhook, verify_webhook

__all__ = ["PullReport", "SyncReport", "Tessera", "TesseraError", "WebhookVerificationError", "sign_webhook",
           "verify_webhook"]
__version__ = "1.0.0"

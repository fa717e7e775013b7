"""API keys in `Authorization: Bearer <key>`. Unknown, revoked and expired keys are told apart."""
import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from accounts.api_keys import remember_key
from accounts.models import ApiKey
from licensing.api.throttling import look_up_and_count


class ApiClient:
    """Who is calling: an organisation's pipeline, through one key."""

    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    pk = None

    def __init__(self, key):
        self.key = key

    @property
    def organisation(self):
        return self.key.organisation  # loaded when first asked for: most requests need only its id

    def __str__(self):
        return f"API key {self.key.prefix} of {self.organisation}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        parsed = ApiKey.parse(token.strip())
        if not parsed:
            raise AuthenticationFailed("Unknown API key: check that it was copied whole.", code="unknown_key")
        prefix, secret = parsed
        view = (request.parser_context or {}).get("view")
        record, request.throttle_count, request.throttle_wait = look_up_and_count(
            prefix, getattr(view, "throttle_scope", None))
        key = ApiKey.from_record(record) if record else ApiKey.objects.filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.secret_hash, ApiKey.hash_secret(secret)):
            raise AuthenticationFailed("Unknown API key: check that it was copied whole.", code="unknown_key")
        if record is None:
            remember_key(prefix, key.record())
        now = timezone.now()
        if key.revoked_at is not None:
            raise AuthenticationFailed(f"This API key (tsk_{key.prefix}) was revoked on {key.revoked_at:%Y-%m-%d}.",
                                       code="revoked_key")
        if key.is_expired(now):
            raise AuthenticationFailed(f"This API key (tsk_{key.prefix}) expired on {key.expires_at:%Y-%m-%d}.",
                                       code="expired_key")
        # Written at most once a minute: a pipeline polling a slice should not turn every read into a write.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
            remember_key(prefix, key.record())
        return ApiClient(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="tessera"'

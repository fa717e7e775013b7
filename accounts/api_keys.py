"""Organisation API keys: made by owners, shown once, stored as a hash, revocable."""
import secrets
from datetime import timedelta

import orjson
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from accounts.models import ApiKey, Membership
from licensing.services.audit import audit


class ApiKeyError(Exception):
    pass


def _check_scopes(scopes):
    unknown = sorted(set(scopes) - set(ApiKey.SCOPES))
    if unknown or not scopes:
        if unknown:
            raise ApiKeyError(_("Scopes must be some of %(scopes)s; unknown: %(unknown)s.")
                              % {"scopes": ", ".join(ApiKey.SCOPES), "unknown": ", ".join(unknown)})
        raise ApiKeyError(_("Scopes must be some of %(scopes)s.") % {"scopes": ", ".join(ApiKey.SCOPES)})


@transaction.atomic
def api_key_create(*, organisation, by, name, scopes, expires_days=None):
    """Returns (key, plaintext). The plaintext exists only here: show it once."""
    if by is not None:
        membership = getattr(by, "membership", None)
        if membership is None or membership.organisation_id != organisation.pk or membership.role != Membership.Role.OWNER:
            raise ApiKeyError(_("Only the organisation's owner can create API keys."))
    if not (name or "").strip():
        raise ApiKeyError(_("Give the key a name, e.g. the pipeline that will use it."))
    _check_scopes(scopes)
    if expires_days is not None and expires_days < 1:
        raise ApiKeyError(_("A key must live at least one day."))
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organisation=organisation, name=name.strip(), prefix=prefix, secret_hash=ApiKey.hash_secret(secret),
        scopes=sorted(set(scopes)), created_by=by,
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    audit(actor=by, organisation=organisation, action="api_key.create", target=key,
          payload={"name": key.name, "scopes": key.scopes, "prefix": prefix})
    return key, f"{ApiKey.KEY_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def api_key_revoke(*, key, by):
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    membership = getattr(by, "membership", None)
    if membership is None or membership.organisation_id != key.organisation_id or membership.role != Membership.Role.OWNER:
        raise ApiKeyError(_("Only the organisation's owner can revoke API keys."))
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        # Every process reads the key from the database again on its next request, and sees it revoked;
        # dropped again after commit, in case a request cached the row this transaction was changing.
        forget_key(key.prefix)
        transaction.on_commit(lambda: forget_key(key.prefix))
        audit(actor=by, organisation=key.organisation, action="api_key.revoke", target=key, payload={"prefix": key.prefix})
    return key


# --- The key's record, cached for the API's gate (licensing/api/throttling.py) -------------

KEY_CACHE_SECONDS = 60


def key_cache_name(prefix):
    return f"api-key:{prefix}"


def forget_key(prefix):
    """Drop the cached record (a key was revoked or changed): the next request reads the database."""
    try:
        caches["default"].delete(key_cache_name(prefix))
    except RedisError:
        pass  # a cache that is down serves no record either; the one it held expires within KEY_CACHE_SECONDS


def remember_key(prefix, record):
    backend = caches["default"]
    if isinstance(backend, RedisCache):  # raw, as the gate's pipeline reads it
        try:
            backend._cache.get_client(write=True).set(backend.make_and_validate_key(key_cache_name(prefix)),
                                                      orjson.dumps(record), ex=KEY_CACHE_SECONDS)
        except RedisError:
            pass  # the next request reads the database again
    else:
        backend.set(key_cache_name(prefix), record, KEY_CACHE_SECONDS)

"""Signed links to a slice's files. One signature per manifest covers every item:
the token names the licence and the slice, and the download checks the asset is in that slice.

Two kinds of token. A slice token (`slice_token`) is timestamped and expires after
SLICE_LINK_TTL_SECONDS: the shard index, the API's item pages and the signed manifest URLs carry it. A
manifest token (`manifest_token`) has no timestamp and names the slice's manifest link key instead: the
links inside a prebuilt JSONL or CSV manifest carry it, so the file is written once and served as it is;
it stops working when the key is rotated (the manifest written again, or access revoked; see
models.SliceManifest). The signature check is cached per token: a manifest's thousands of item
downloads repeat one token.
"""
import functools
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "tessera.slice-download"
MANIFEST_SALT = "tessera.slice-manifest"
SEP = ":"  # django.core.signing's separator: value:signature, or value:timestamp:signature


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SliceLink:
    licence_id: int
    slice_id: int
    manifest_key: str | None  # set for the links of a prebuilt manifest: checked against the slice's current key


def slice_token(slice_):
    return signing.TimestampSigner(salt=SALT).sign_object({"l": slice_.licence_id, "s": slice_.pk})


def manifest_token(slice_, key):
    return signing.Signer(salt=MANIFEST_SALT).sign_object({"l": slice_.licence_id, "s": slice_.pk, "m": key})


def read_link(token):
    """The SliceLink a token signs, or LinkExpired / LinkInvalid."""
    try:
        licence_id, slice_id, key, signed_at = _verified(token, settings.SECRET_KEY)
    except (signing.BadSignature, ValueError, KeyError, TypeError, AttributeError):
        raise LinkInvalid from None
    if signed_at is not None and time.time() - signed_at > settings.SLICE_LINK_TTL_SECONDS:
        raise LinkExpired
    return SliceLink(licence_id, slice_id, key)


def read_slice_token(token):
    """(licence_id, slice_id) from a token, or LinkExpired / LinkInvalid."""
    link = read_link(token)
    return link.licence_id, link.slice_id


@functools.lru_cache(maxsize=4096)
def _verified(token, secret_key):
    """(licence id, slice id, manifest key or None, signed at or None) of a token whose signature holds.
    Keyed by the secret too, so a rotated SECRET_KEY is not answered from the cache. A failure raises, and
    exceptions are not cached."""
    if token.count(SEP) == 1:  # value:signature, no timestamp: a manifest's token
        data = signing.Signer(salt=MANIFEST_SALT).unsign_object(token)
        return int(data["l"]), int(data["s"]), str(data["m"]), None
    data = signing.TimestampSigner(salt=SALT).unsign_object(token)  # the signature, not the age: read_link
    signed_at = signing.b62_decode(token.rsplit(SEP, 2)[1])
    return int(data["l"]), int(data["s"]), None, signed_at


def asset_url_prefix(token):
    """The item links of a manifest are this prefix followed by the asset id."""
    return settings.SITE_URL + reverse("slice_download", args=[token, 0]).removesuffix("0")


def signed_manifest_url(token, fmt):
    return settings.SITE_URL + reverse("slice_signed_manifest", args=[token, fmt])


def shard_url(token, shard):
    return settings.SITE_URL + reverse("shard_download", args=[token, shard.pk])


def shard_index_url(token):
    return settings.SITE_URL + reverse("slice_signed_manifest", args=[token, "shards.json"])

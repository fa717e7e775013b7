"""Signed, expiring links to a slice's files. One signature per manifest covers every item:
the token names the licence and the slice, and the download checks the asset is in that slice."""
from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "tessera.slice-download"


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def slice_token(slice_):
    return signing.TimestampSigner(salt=SALT).sign_object({"l": slice_.licence_id, "s": slice_.pk})


def read_slice_token(token):
    """(licence_id, slice_id) from a token, or LinkExpired / LinkInvalid."""
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=settings.SLICE_LINK_TTL_SECONDS)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    return data["l"], data["s"]


def asset_url_prefix(token):
    """The item links of a manifest are this prefix followed by the asset id."""
    return settings.SITE_URL + reverse("slice_download", args=[token, 0]).removesuffix("0")


def signed_manifest_url(token, fmt):
    return settings.SITE_URL + reverse("slice_signed_manifest", args=[token, fmt])


def shard_url(token, shard):
    return settings.SITE_URL + reverse("shard_download", args=[token, shard.pk])


def shard_index_url(token):
    return settings.SITE_URL + reverse("slice_signed_manifest", args=[token, "shards.json"])

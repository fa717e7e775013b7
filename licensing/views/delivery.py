"""Stored files at training speed: HTTP Range and conditional requests, and a slice's shards.

`stored_file_response` is how every slice file leaves Tessera (an item or a shard): a 304 for a
copy the client holds (If-None-Match on the sha256), a 206 for a range (resuming), a 416 for a
range past the end, and the bytes themselves by one of three routes: a redirect to object
storage's presigned URL, an X-Accel-Redirect for nginx to send, or a FileResponse that gunicorn
sends with sendfile(2) through wsgi.file_wrapper.
"""
import re
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.views.decorators.http import require_http_methods

from licensing import downloads, workflow
from licensing.models import Shard, Slice, SliceStatus
from licensing.selectors.delivery import manifest_key_accepted, shard_index
from licensing.selectors.slices import slice_visible_to

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def requested_range(header, size):
    """(start, end) inclusive from a Range header, None to send the whole file, or Unsatisfiable.
    Several ranges in one header are answered with the whole file, as RFC 9110 allows."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        if header.strip().startswith("bytes=") and "," not in header:
            raise Unsatisfiable
        return None
    first, last = match.groups()
    if not first and not last:
        raise Unsatisfiable
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable
    return start, end


class _Window:
    """A file read from `start` for `length` bytes. It has fileno(), so gunicorn's sendfile sends the
    window straight from the page cache (it starts at the file's offset and stops at Content-Length),
    and no tell() or name, so FileResponse does not measure the whole file."""

    def __init__(self, handle, start, length):
        self.handle, self.left = handle, length
        handle.seek(start)

    def read(self, size=-1):
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        return data

    def fileno(self):
        return self.handle.fileno()

    def close(self):
        self.handle.close()


def _presigned_url(storage_key, content_type, disposition):
    """Object storage's presigned URL for the file, asking it to answer with our type and file name (S3's
    response-content-type and response-content-disposition); a storage without such parameters, its URL."""
    try:
        return default_storage.url(storage_key, parameters={"ResponseContentType": content_type,
                                                            "ResponseContentDisposition": disposition})
    except TypeError:
        return default_storage.url(storage_key)


def _etag_matches(header, etag):
    if not header:
        return False
    return header.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in header.split(",")]


def stored_file_response(request, *, storage_key, sha256, content_type, filename, size=None, set_headers=None,
                         disposition="attachment",
                         missing="The file is missing from storage; the licensor has been told."):
    """Answer a GET or HEAD for one stored file. `set_headers(response)` adds the caller's own headers to
    whatever answer goes out (304, 206, 416, redirect), so they are set in one place."""
    etag = f'"{sha256}"'

    def finish(response):
        response["ETag"] = etag
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=0"
        if set_headers is not None:
            set_headers(response)
        return response

    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return finish(HttpResponse(status=304))
    disposition = f"{disposition}; filename=\"{filename}\""
    if settings.SLICE_DOWNLOADS_REDIRECT:
        return finish(HttpResponseRedirect(_presigned_url(storage_key, content_type, disposition)))
    if settings.SENDFILE_X_ACCEL_PREFIX:
        # nginx answers Range and HEAD itself from the internal location (README: "Serving files with nginx").
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.SENDFILE_X_ACCEL_PREFIX.rstrip("/") + "/" + quote(storage_key)
        response["Content-Disposition"] = disposition
        return finish(response)
    try:
        handle = default_storage.open(storage_key, "rb")
        size = handle.size if size is None else size
    except FileNotFoundError:
        return finish(HttpResponse(missing, status=404, content_type="text/plain"))
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if wanted and if_range and if_range.strip() != etag:
        wanted = None  # the client's partial copy is of other bytes: send them all
    try:
        window = requested_range(wanted, size)
    except Unsatisfiable:
        handle.close()
        response = HttpResponse(f"Range {wanted} is not within the file's {size} bytes.", status=416,
                                content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
        return finish(response)
    start, end = window if window else (0, size - 1)
    length = end - start + 1 if size else 0
    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(status=206 if window else 200, content_type=content_type)
    else:
        response = FileResponse(_Window(handle, start, length), content_type=content_type, status=206 if window else 200)
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = disposition
    if window:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return finish(response)


def slice_from_token(token):
    """(slice, None) for a signed link's token, or (None, a refusal); a forged token is a 404."""
    try:
        link = downloads.read_link(token)
    except downloads.LinkExpired:
        return None, HttpResponse(
            "This download link has expired. Fetch the slice's manifest again for fresh links.",
            status=403, content_type="text/plain")
    except downloads.LinkInvalid:
        raise Http404 from None
    slice_ = Slice.objects.select_related("licence__organisation").filter(
        pk=link.slice_id, licence_id=link.licence_id).first()
    if slice_ is None:
        raise Http404
    if slice_.licence.state not in workflow.ACTIVE:
        return None, HttpResponse(
            f"The licence is {slice_.licence.get_state_display().lower()}: its downloads are closed.",
            status=403, content_type="text/plain")
    if link.manifest_key is not None and not manifest_key_accepted(slice_, link.manifest_key):
        return None, HttpResponse(
            "This download link was replaced: the slice's manifest was written again. Fetch the manifest again "
            "for fresh links.", status=403, content_type="text/plain")
    return slice_, None


# --- Shards ----------------------------------------------------------------------

@login_required
def shards_json(request, pk):
    slice_ = slice_visible_to(user=request.user, pk=pk)
    return shard_index_response(slice_)


def shard_index_response(slice_, token=None):
    if slice_.status != SliceStatus.READY:
        return JsonResponse({"error": {"code": "not_ready", "fields": {},
                                       "message": f"Slice {slice_.number} is {slice_.status}: its shards exist "
                                                  "once it is ready."}}, status=409)
    response = JsonResponse(shard_index(slice_, token=token), json_dumps_params={"indent": 1})
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "HEAD"])
def shard_download(request, token, shard_id):
    slice_, refusal = slice_from_token(token)
    if refusal:
        return refusal
    shard = Shard.objects.filter(pk=shard_id, slice=slice_).first()
    if shard is None:
        raise Http404
    if shard.superseded_at is not None:
        index = downloads.shard_index_url(token)
        response = HttpResponse(
            f"Gone: shard {shard.number} (version {shard.version}) was written again without withdrawn items on "
            f"{shard.superseded_at:%d %B %Y %H:%M} UTC. Fetch the new shard index at {index}\n",
            status=410, content_type="text/plain")
        response["Link"] = f'<{index}>; rel="index"'
        return response
    return stored_file_response(request, storage_key=shard.storage_key, sha256=shard.sha256, size=shard.bytes,
                                content_type="application/x-tar", filename=shard.filename)

"""Uploaded files, read the one way every upload endpoint reads them (lead lists,
do-not-call lists, conversions).

The caller is authenticated before a byte of the body is read. A route that
declares `File()` or `Form()` parameters would not do that: FastAPI reads and
parses a form body (spooling its files to disk) before it solves any dependency,
the authentication included. So the upload routes declare none: they depend on
`upload_dependency(...)`, which authenticates the manager first (`ManagerCtxDep`)
and only then reads the multipart stream with python-multipart's parser,
writing the file part in chunks straight to a file of our own (the one copy;
a lead import's background job takes it over) and refusing it as soon as it
passes the upload limit. The body as a whole is also bounded by
dialer.limits."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Depends, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from dialer.errors import BadInput, Invalid, TooLarge, UnsupportedMedia
from dialer.limits import media_type
from dialer.web import ManagerCtxDep

FILE_FIELD = "file"
# A text field of an upload form (a lead list's `mapping`): small by nature.
FIELD_LIMIT = 64 << 10
# Parts in one form: the file and a few fields; anything more is not our client.
MAX_PARTS = 8
# Bytes gathered before one write to disk, off the event loop.
_WRITE_EVERY = 1 << 20
MULTIPART = "multipart/form-data"


@dataclass(slots=True)
class Upload:
    """The file part on disk (removed after the request unless `release`d) and
    the form's text fields."""

    path: Path
    filename: str | None
    size: int
    fields: dict[str, str] = field(default_factory=dict)
    owned: bool = True

    def release(self) -> Path:
        """Hand the file over (a background import removes it when done)."""
        self.owned = False
        return self.path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def discard(self) -> None:
        if self.owned:
            self.path.unlink(missing_ok=True)


class _Form:
    """python-multipart's callbacks: the file part to `pending` (written to disk
    by the reading loop), text fields to `fields`, each bounded."""

    def __init__(self, *, limit: int, fields: frozenset[str]) -> None:
        self.limit = limit
        self.allowed = fields
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_seen = False
        self.size = 0
        self.pending = bytearray()
        self.parts = 0
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name: str | None = None
        self._is_file = False
        self._text = bytearray()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_val,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _end(self) -> None:
        self.ended = True

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadInput(f"the form has more than {MAX_PARTS} parts", field="body")
        self._disposition = b""
        self._name = None
        self._is_file = False
        self._text = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        if len(self._header_name) > FIELD_LIMIT:
            raise BadInput("a part's header is too long", field="body")

    def _header_val(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > FIELD_LIMIT:
            raise BadInput("a part's header is too long", field="body")

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise BadInput("a form part has no name (Content-Disposition)", field="body")
        name = raw_name.decode("utf-8", "replace")
        self._name = name
        if name == FILE_FIELD:
            if self.file_seen:
                raise BadInput("the form has more than one file", field=FILE_FIELD)
            self.file_seen = True
            self._is_file = True
            raw_filename = options.get(b"filename")
            self.filename = raw_filename.decode("utf-8", "replace")[:500] if raw_filename else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.size += end - start
            if self.size > self.limit:
                raise TooLarge(
                    f"the file is larger than the upload limit of {self.limit} bytes",
                    field=FILE_FIELD,
                )
            self.pending += data[start:end]
            return
        self._text += data[start:end]
        if len(self._text) > FIELD_LIMIT:
            raise TooLarge(
                f"the form field is larger than {FIELD_LIMIT} bytes", field=self._name or "body"
            )

    def _part_end(self) -> None:
        if not self._is_file and self._name in self.allowed:
            try:
                self.fields[self._name] = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise BadInput("the form field is not UTF-8 text", field=self._name) from None


async def receive_upload(request: Request, *, limit: int, fields: frozenset[str]) -> Upload:
    """The multipart body's `file` part, written to a file of our own in chunks
    and refused (413) as soon as it passes `limit` bytes, and its text `fields`
    (others are ignored). Nothing is left on disk when it is refused."""
    if media_type(request.headers) != MULTIPART:
        raise UnsupportedMedia(
            f"an upload is sent as {MULTIPART} with the file in the field {FILE_FIELD!r}",
            field=FILE_FIELD,
        )
    _kind, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadInput(f"the {MULTIPART} Content-Type has no boundary", field="body")
    form = _Form(limit=limit, fields=fields)
    parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    fd, name = tempfile.mkstemp(prefix="dialer-upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                parser.write(chunk)
                if len(form.pending) >= _WRITE_EVERY:
                    await _flush(handle, form)
            parser.finalize()
            if not form.ended:
                raise BadInput(
                    f"the {MULTIPART} body ends before its closing boundary", field="body"
                )
            await _flush(handle, form)
    except FormParserError:
        path.unlink(missing_ok=True)
        raise BadInput(f"the body is not valid {MULTIPART}", field="body") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not form.file_seen:
        path.unlink(missing_ok=True)
        raise Invalid(f"{FILE_FIELD}: a file is required", field=FILE_FIELD)
    return Upload(path=path, filename=form.filename, size=form.size, fields=form.fields)


async def _flush(handle: BinaryIO, form: _Form) -> None:
    if form.pending:
        data = bytes(form.pending)
        form.pending.clear()
        await run_in_threadpool(handle.write, data)


def upload_dependency(*, fields: frozenset[str] = frozenset()) -> Any:
    """A route's upload: the manager authenticated first (a 401 or 403 before
    the body is read), then the body read; the file removed after the request
    unless the route `release`s it."""

    async def upload(request: Request, ctx: ManagerCtxDep) -> AsyncIterator[Upload]:
        received = await receive_upload(
            request, limit=ctx.runtime.settings.max_upload_bytes, fields=fields
        )
        try:
            yield received
        finally:
            received.discard()

    return Depends(upload)


def upload_openapi(**fields: str) -> dict[str, Any]:
    """The multipart request body the route reads itself, for OpenAPI."""
    properties: dict[str, Any] = {FILE_FIELD: {"type": "string", "format": "binary"}}
    properties.update(
        {name: {"type": "string", "description": text} for name, text in fields.items()}
    )
    return {
        "requestBody": {
            "required": True,
            "content": {
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": [FILE_FIELD],
                    }
                }
            },
        }
    }


def save_upload(source: BinaryIO, *, limit: int, directory: str | None = None) -> Path:
    """Copy a file-like upload to a file of our own, in chunks, refusing it past
    `limit` bytes without reading on (tests, and callers holding a file)."""
    fd, name = tempfile.mkstemp(prefix="dialer-import-", suffix=".csv", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in upload_chunks(source, limit=limit):
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def upload_chunks(source: BinaryIO, *, limit: int) -> Iterator[bytes]:
    """A file-like upload in chunks, refused with 413 as soon as it passes `limit`."""
    total = 0
    while chunk := source.read(1 << 20):
        total += len(chunk)
        if total > limit:
            raise TooLarge(
                f"the file is larger than the upload limit of {limit} bytes", field=FILE_FIELD
            )
        yield chunk

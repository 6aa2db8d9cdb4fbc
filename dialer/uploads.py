"""Uploaded files, read the one way every upload endpoint reads them (lead lists,
do-not-call lists, conversions): in chunks, refused as soon as they pass the
upload limit, never read whole into memory first."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dialer.errors import TooLarge


def save_upload(source: BinaryIO, *, limit: int, directory: str | None = None) -> Path:
    """Copy an upload to a file of our own (the job outlives the request), in
    chunks, refusing it past `limit` bytes without reading on."""
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
    """An upload in chunks, refused with 413 as soon as it passes `limit` bytes:
    every upload endpoint applies the one limit the one way."""
    total = 0
    while chunk := source.read(1 << 20):
        total += len(chunk)
        if total > limit:
            raise TooLarge(
                f"the file is larger than the upload limit of {limit} bytes", field="file"
            )
        yield chunk

"""Reading the files managers export: encoding, delimiter, header, rows.

Shift_JIS/CP932 with Japanese headers, UTF-8 with or without BOM, Excel's UTF-16
"Unicode text"; commas, tabs or semicolons. Detection never guesses silently: a
file is read whole with the encoding it claims (BOM) or, failing that, the first
of UTF-8 and CP932 that decodes every byte of it; anything else is refused, and
the import report says which encoding and delimiter were used.

Files are read as streams, so a million-row list costs memory for a batch of
rows, not for the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dialer.errors import BadInput, UnsupportedMedia

# Canonical columns and the header spellings managers' exports use for them.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "tel", "telephone", "phone1", "電話番号", "電話", "電話番号1", "tel1"),
    "phone2": ("phone2", "tel2", "mobile", "電話番号2", "携帯", "携帯電話", "携帯番号"),
    "name": ("name", "氏名", "名前", "お名前", "顧客名"),
    "contact_name": ("contact_name", "contact", "担当者", "担当者名"),
    "company": ("company", "会社名", "法人名", "社名"),
    "current_provider": ("current_provider", "provider", "現在の契約先", "契約会社", "現契約"),
    "contract_number": ("contract_number", "契約番号", "供給地点特定番号", "お客様番号"),
    "postal_code": ("postal_code", "zip", "postcode", "郵便番号"),
    "prefecture": ("prefecture", "都道府県"),
    "timezone": ("timezone", "time_zone", "tz", "タイムゾーン"),
    "external_id": ("external_id", "id", "crm_id", "顧客id", "顧客番号", "外部id"),
    "priority": ("priority", "優先度"),
    "notes": ("notes", "note", "memo", "備考", "メモ"),
}
_ALIAS_TO_COLUMN = {
    unicodedata.normalize("NFKC", alias).strip().lower(): column
    for column, aliases in COLUMN_ALIASES.items()
    for alias in aliases
}
PHONE_COLUMNS = ("phone", "phone2")

_CHUNK = 1 << 20
_SNIFF_CHARS = 64 * 1024


# --- encodings ----------------------------------------------------------------------


def _claimed_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decodes_whole(chunks: Iterable[bytes], encoding: str) -> bool:
    """Whether every byte decodes, and no NUL is among the characters: NUL is
    never text, so a file with binary inside is refused whole."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        for chunk in chunks:
            if "\x00" in decoder.decode(chunk):
                return False
        return "\x00" not in decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False


def detect_encoding(open_chunks: Callable[[], Iterable[bytes]]) -> str:
    """The encoding the whole content decodes with. `open_chunks` gives the content
    afresh on each call: each candidate is tried over every byte."""
    head = next(iter(open_chunks()), b"")
    if not head.strip() and all(not chunk.strip() for chunk in open_chunks()):
        raise BadInput("the file is empty", code="empty_file", field="file")
    claimed = _claimed_encoding(head)
    if claimed is not None:
        if _decodes_whole(open_chunks(), claimed):
            return claimed
        raise UnsupportedMedia(
            f"the file says it is {claimed} but is not (or holds binary)", code="undecodable"
        )
    if b"\x00" in head:
        raise UnsupportedMedia("the file is binary, not CSV text", code="not_text")
    for encoding in ("utf-8", "cp932"):
        if _decodes_whole(open_chunks(), encoding):
            return encoding
    raise UnsupportedMedia(
        "the file is neither UTF-8 nor Shift_JIS/CP932 text (nor UTF-16 with a BOM), "
        "or it holds binary",
        code="undecodable",
    )


def decode(data: bytes) -> tuple[str, str]:
    """Text of bytes held in memory, and the encoding it was read with."""
    encoding = detect_encoding(lambda: [data])
    text = data.decode(encoding)
    return text, encoding


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def detect_file_encoding(path: Path) -> str:
    return detect_encoding(lambda: _file_chunks(path))


# --- delimiter and header -----------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def map_header(header: list[str], *, overrides: dict[str, str] | None = None) -> dict[int, str]:
    """Column index → canonical name; unknown columns keep their own header (extra).
    `overrides` (header as written → canonical column) wins over the aliases, for
    exports whose headers no alias list can guess ('TEL(日中)'); an override of ""
    keeps the column in extra under its own header, whatever its alias says."""
    given = {
        unicodedata.normalize("NFKC", k).strip().lower(): v for k, v in (overrides or {}).items()
    }
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        key = unicodedata.normalize("NFKC", title).strip().lower()
        if key in given:
            mapping[index] = given[key] or title.strip()
        else:
            mapping[index] = _ALIAS_TO_COLUMN.get(key, title.strip())
    return mapping


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """The `mapping` form field: a JSON object of header → column, checked whole."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"mapping is not JSON: {exc}", code="bad_mapping", field="mapping") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadInput(
            'mapping must be an object of header → column, e.g. {"TEL(日中)": "phone"}',
            code="bad_mapping",
            field="mapping",
        )
    unknown = sorted(v for v in value.values() if v and v not in COLUMN_ALIASES)
    if unknown:
        raise BadInput(
            f"mapping names unknown columns {unknown}; known: {sorted(COLUMN_ALIASES)}",
            code="bad_mapping",
            field="mapping",
        )
    return dict(value)


# --- rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # data rows count from 1; the header is row 0
    raw: dict[str, str]
    values: dict[str, str]
    extra: dict[str, str]


class RowShaper:
    """A data row's cells as a Row under a header's columns: known columns in
    `values`, the others (and cells past the header) in `extra`."""

    def __init__(self, header: list[str], columns: dict[int, str]) -> None:
        self.header = header
        self.width = len(header)
        # Each header column once, in order: (index, name, a known column?). The
        # per-row work then does no lookups; a million rows go through it.
        self.plan = [(i, name, name in COLUMN_ALIASES) for i, name in sorted(columns.items())]

    def __call__(self, number: int, cells: list[str]) -> Row:
        header, width = self.header, self.width
        count = len(cells)
        if count <= width:
            raw = dict(zip(header, cells, strict=False))
        else:
            raw = {
                header[i] if i < width else f"column_{i + 1}": cell for i, cell in enumerate(cells)
            }
        values: dict[str, str] = {}
        extra: dict[str, str] = {}
        for i, name, known in self.plan:
            if i >= count:
                break
            text = cells[i].strip()
            if known:
                values[name] = text
            elif text:
                extra[name] = text
        for i in range(width, count):
            text = cells[i].strip()
            if text:
                extra[f"column_{i + 1}"] = text
        return Row(number=number, raw=raw, values=values, extra=extra)


@dataclass(frozen=True, slots=True)
class LeadFile:
    """An opened lead list: what was detected, and its rows as a stream."""

    path: Path
    overrides: dict[str, str] | None
    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[int, str]
    size: int
    _text: io.TextIOBase
    _counter: _CountingReader
    _shape: RowShaper

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def rows(self) -> Iterator[Row]:
        reader = csv.reader(self._text, delimiter=self.delimiter)
        try:
            for number, cells in enumerate(reader, start=1):
                if not "".join(cells).strip():
                    continue
                yield self._shape(number, cells)
        except csv.Error as exc:
            raise BadInput(f"not CSV after row {reader.line_num}: {exc}", code="not_csv") from exc

    def close(self) -> None:
        self._text.close()


class _CountingReader(io.RawIOBase):
    """Counts the bytes the text layer has pulled: progress as a fraction of size."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_lead_file(
    path: Path,
    *,
    overrides: dict[str, str] | None = None,
    detected: tuple[str, str] | None = None,
) -> LeadFile:
    """Detect, check the header, and open the rows as a stream. Refusals (empty,
    binary, undecodable, no phone column) come before anything is written.
    `detected` (encoding, delimiter) reopens a file already detected, without
    decoding all of it again."""
    if detected is not None:
        encoding, delimiter = detected
    else:
        encoding = detect_file_encoding(path)
        with path.open("r", encoding=encoding, newline="") as handle:
            sample = handle.read(_SNIFF_CHARS)
        delimiter = sniff_delimiter(sample)
    counter = _CountingReader(path.open("rb"))
    text = io.TextIOWrapper(io.BufferedReader(counter, _CHUNK), encoding=encoding, newline="")
    try:
        header = next(csv.reader(text, delimiter=delimiter))
    except StopIteration:
        text.close()
        raise BadInput("the file is empty", code="empty_file", field="file") from None
    except csv.Error as exc:
        text.close()
        raise BadInput(f"not CSV: {exc}", code="not_csv", field="file") from exc
    columns = map_header(header, overrides=overrides)
    if "phone" not in columns.values():
        text.close()
        raise BadInput(
            f"no phone column: the header row has {header!r}; name one 'phone' or '電話番号'",
            code="no_phone_column",
            field="file",
        )
    return LeadFile(
        path=path,
        overrides=overrides,
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        columns=columns,
        size=path.stat().st_size,
        _text=text,
        _counter=counter,
        _shape=RowShaper(header, columns),
    )


# --- a file's first part, for a preview ---------------------------------------------

# What a preview reads of a file: enough for its header, first rows and encoding.
PREVIEW_BYTES = 1 << 20


def complete_lines(head: bytes) -> bytes:
    """The first part of a longer file up to its last line end, so no character
    (nor row) is cut in two: the encoding is then judged on whole characters.
    UTF-16 is cut after a whole `\\n` code unit of its byte order."""
    if head.startswith(codecs.BOM_UTF16_LE):
        end = head.rfind(b"\n\x00")
        while end > 0 and end % 2:
            end = head.rfind(b"\n\x00", 0, end)
        return head[: end + 2] if end > 0 else head[: len(head) & ~1]
    if head.startswith(codecs.BOM_UTF16_BE):
        end = head.rfind(b"\x00\n")
        while end > 0 and end % 2:
            end = head.rfind(b"\x00\n", 0, end)
        return head[: end + 2] if end > 0 else head[: len(head) & ~1]
    end = head.rfind(b"\n")
    return head[: end + 1] if end >= 0 else head


@dataclass(frozen=True, slots=True)
class FileHead:
    """What the import would detect in a file, from its first part: the
    encoding, the delimiter, the header and its columns, the first data rows
    (as cells, and as the import reads them)."""

    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[int, str]
    cells: list[list[str]]
    rows: list[Row]

    @property
    def has_phone(self) -> bool:
        return "phone" in self.columns.values()


def read_head(
    data: bytes, *, truncated: bool, overrides: dict[str, str] | None, max_rows: int
) -> FileHead:
    """Detect and read a file's first part as `open_lead_file` reads the whole
    (the same refusals, but a missing phone column: the caller says so)."""
    if truncated:
        data = complete_lines(data)
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text[:_SNIFF_CHARS])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadInput("the file is empty", code="empty_file", field="file") from None
    except csv.Error as exc:
        raise BadInput(f"not CSV: {exc}", code="not_csv", field="file") from exc
    columns = map_header(header, overrides=overrides)
    shape = RowShaper(header, columns)
    cells: list[list[str]] = []
    rows: list[Row] = []
    try:
        for number, row_cells in enumerate(reader, start=1):
            if len(rows) >= max_rows:
                break
            if not "".join(row_cells).strip():
                continue
            cells.append(row_cells)
            rows.append(shape(number, row_cells))
    except csv.Error as exc:
        raise BadInput(f"not CSV after row {reader.line_num}: {exc}", code="not_csv") from exc
    return FileHead(
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        columns=columns,
        cells=cells,
        rows=rows,
    )


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass(slots=True)
class RowReport:
    """The rejected rows of an upload report (DNC lists, conversion lists): every
    one counted, the first `MAX_ROW_ERRORS` kept with row, field and reason."""

    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)

    def reject(self, *, row: int, field_name: str, reason: str) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ROW_ERRORS:
            self.errors.append(RowError(row=row, field=field_name, reason=reason))


# As many row errors as the lead import's response lists.
MAX_ROW_ERRORS = 1000

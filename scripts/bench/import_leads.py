"""Lead-import benchmark: a million-row CP932 list through the service's import path.

A generated lead list, the kind a Japanese CRM exports (Shift_JIS/CP932, Japanese
headers 氏名,電話番号,携帯,会社名,現在の契約先,契約番号,郵便番号,都道府県,優先度,備考),
is imported into a fresh campaign on SQLite and on a throw-away PostgreSQL cluster
through `dialer.leads.importer.start_import`, inline (runner=None), as the CLI does.

The file is deterministic for a seed and written as a stream. Phones come in the
formats exports hold ('090-1234-5678', '０９０－１２３４－５６７８',
'+81 (0)3 1234 5678', '03(1234)5678', '0312345678'), some with a note beside the
number (' (自宅)', ' 内線12'), a few cells with two numbers. About 5% of the rows
are duplicates (a number an earlier accepted row holds, written in another
format) and about 1% invalid (電話番号 like '03-12' or empty, or a 携帯 with no
valid number). The generator follows the importer's counting rules and knows the
truth, and the import's accepted/duplicate/invalid counts, and the leads, phones
and contacts it left in the database, must equal it exactly.

Each import runs in a fresh subprocess, so its peak RSS (VmHWM) is the import's
own. The baseline, measured in the same run: one process looping over the same
phone cells with `phonenumbers` only (parse with region JP, is_valid_number,
format E164), as rows/s over the same rows. Goal: import rows/s >= 1.5 x baseline,
peak RSS <= 300 MB, exact counts.

    python scripts/bench/import_leads.py --quick              # 100k rows
    python scripts/bench/import_leads.py                      # 1M rows
    python scripts/bench/import_leads.py --engines sqlite --rows 250000
    python scripts/bench/import_leads.py --quick --profile    # + where the import's time goes

--profile adds, per engine, on a 100k-row file and a fresh database each: a phase
breakdown (exclusive wall and CPU time per phase: decode/parse, phone
normalization, SQL per statement and table, the Python around it, commits,
finalize; cyclic GC and the PostgreSQL cluster's CPU beside) and a cProfile.

The last line printed is one JSON object with every figure. Exit status 1 when an
import's counts differ from the generator's truth (or the import did not finish).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import functools
import gc
import hashlib
import io
import json
import math
import os
import pstats
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import event, text

from dialer.campaign.schemas import CampaignCreate
from dialer.campaign.service import create_campaign
from dialer.clock import wall_now
from dialer.db import Database
from dialer.migrations import upgrade
from dialer.testing.postgres import PostgresCluster, find_pg_bin_dir

GOAL_RATIO = 1.5
GOAL_RSS_MB = 300.0
DEFAULT_SEED = 20261124
REGION = "JP"
ENGINES = ("sqlite", "postgresql")

# ---------------------------------------------------------------------------------
# The lead list: deterministic for a seed, written as a stream, truth counted as
# the importer counts (dialer.leads.importer.ImportJob._stage):
#   invalid   - 電話番号 empty or without a valid number, or 携帯 non-empty without one;
#   duplicate - any phone of the row is held by the campaign or by an earlier row;
#   accepted  - the rest (no DNC entries exist, so nothing is suppressed).
# Accepted rows get fresh numbers only; duplicate rows reuse a number of an earlier
# *accepted* row in another format; invalid rows never hold a number used elsewhere.
# ---------------------------------------------------------------------------------

HEADER = (
    "氏名",
    "電話番号",
    "携帯",
    "会社名",
    "現在の契約先",
    "契約番号",
    "郵便番号",
    "都道府県",
    "優先度",
    "備考",
)
INVALID_SHARE = 0.01
DUPLICATE_SHARE = 0.05
PHONE2_SHARE = 0.35  # accepted rows with a 携帯
NOTE_SHARE = 0.08  # phone cells with a note beside the number
MULTI_SHARE = 0.01  # accepted rows whose 電話番号 holds two numbers
NAMELESS_SHARE = 0.03  # rows without 氏名 (no contact is made for them)

# National significant numbers: an area/mobile prefix and 8 subscriber digits, the
# first 1-9. Every such number is valid for phonenumbers (checked at start-up on a
# sample, see _check_numbering).
MOBILE_AREAS = ("90", "80", "70")
LANDLINE_AREAS = ("3", "6")
AREAS = MOBILE_AREAS + LANDLINE_AREAS
_SUBSCRIBERS = 90_000_000
_SPREAD = 48_271  # coprime with _SUBSCRIBERS: k -> k * _SPREAD % _SUBSCRIBERS is a bijection
_FULLWIDTH = str.maketrans("0123456789-()", "０１２３４５６７８９－（）")
# Styles: 0 '090-1234-5678', 1 full-width, 2 '+81 (0)90 1234 5678', 3 '090(1234)5678',
# 4 '09012345678'; cumulative weights.
STYLE_NAMES = ("dashed", "full-width", "international", "parentheses", "digits")
_STYLE_CUTS = (0.40, 0.55, 0.65, 0.80, 1.0)
PHONE_NOTES = (" (自宅)", "（自宅）", " (携帯)", "(会社)", " 内線12", " ※日中のみ")
MULTI_SEPARATORS = (" / ", "、", "／")


def _invalid_cell(area: str, sub: str, pick: int) -> str:
    """Numbers no reading can make valid: truncated, over-long, or no number at all."""
    cells = (
        f"0{area}-{sub[:2]}",  # '03-12'
        f"0{area}-{sub[:4]}",  # '090-1234'
        f"0{area}-{sub[:4]}-{sub[4:7]}",  # one digit short
        f"0{area}-{sub[:4]}-{sub[4:]}9",  # one digit over
        f"０{area}－{sub[:2]}".translate(_FULLWIDTH),
        "不明",
        "なし",
        "-",
    )
    return cells[pick % len(cells)]


SURNAMES = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
)  # fmt: skip
GIVEN_NAMES = (
    "太郎", "花子", "一郎", "健太", "美咲", "翔太", "陽子", "大輔", "由美", "直樹",
    "恵子", "誠", "裕子", "拓也", "明美", "さくら", "ゆうき", "ひろし",
)  # fmt: skip
COMPANY_CORES = (
    "山田商事", "東邦物産", "さくら工業", "青葉建設", "みどり食品",
    "富士精機", "北斗運輸", "日の出不動産", "大和印刷", "光洋電機",
)  # fmt: skip
PROVIDERS = (
    "東京電力エナジーパートナー", "関西電力", "中部電力ミライズ", "東北電力", "九州電力",
    "北海道電力", "中国電力", "四国電力", "北陸電力", "沖縄電力", "東京ガス", "大阪ガス",
)  # fmt: skip
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県",
    "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県",
    "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県",
    "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
NOTES = (
    "折り返し希望",
    "18時以降に架電",
    "不在が多い",
    "前回: 検討中",
    "担当者不在, 再架電",  # a comma: the cell gets quoted
    '"至急"の連絡希望',  # quotes: doubled inside a quoted cell
    "午前不在\n午後は在宅",  # a line break inside a quoted cell
    "資料送付済み",
)


@dataclass
class Truth:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    suppressed: int = 0
    phones: int = 0  # phones of accepted rows: the phone table's rows after the import
    contacts: int = 0  # accepted rows with a 氏名
    phone_cells: int = 0  # non-empty 電話番号/携帯 cells: what the baseline parses
    noted_cells: int = 0
    multi_cells: int = 0
    styles: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    sha256: str = ""


class LeadListWriter:
    """Rows of a lead list and their truth, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.truth = Truth()
        self.next_k = 0  # numbers handed out so far: each k is a distinct number
        # Numbers of accepted rows (area index * 10^8 + subscriber) and the style
        # each was written in: what duplicate rows draw from.
        self.accepted_numbers = array("q")
        self.accepted_styles = bytearray()
        self.styles: Counter[str] = Counter()

    # -- numbers --------------------------------------------------------------------

    def _fresh(self, *, mobile: bool) -> int:
        rng = self.rng
        k = self.next_k
        self.next_k += 1
        subscriber = 10_000_000 + (k * _SPREAD + 12_345_678) % _SUBSCRIBERS
        area = int(rng.random() * (len(MOBILE_AREAS) if mobile else len(AREAS)))
        return area * 100_000_000 + subscriber

    def _style(self) -> int:
        x = self.rng.random()
        return next(i for i, cut in enumerate(_STYLE_CUTS) if x < cut)

    def _written(self, code: int, style: int) -> str:
        area = AREAS[code // 100_000_000]
        sub = str(code % 100_000_000)
        a, b = sub[:4], sub[4:]
        self.styles[STYLE_NAMES[style]] += 1
        if style == 0:
            return f"0{area}-{a}-{b}"
        if style == 1:
            return f"0{area}-{a}-{b}".translate(_FULLWIDTH)
        if style == 2:
            return f"+81 (0){area} {a} {b}"
        if style == 3:
            return f"0{area}({a}){b}"
        return f"0{area}{a}{b}"

    def _with_note(self, cell: str) -> str:
        rng = self.rng
        if rng.random() < NOTE_SHARE:
            self.truth.noted_cells += 1
            return cell + PHONE_NOTES[int(rng.random() * len(PHONE_NOTES))]
        return cell

    def _accepted_cell(self, code: int, style: int) -> str:
        self.accepted_numbers.append(code)
        self.accepted_styles.append(style)
        self.truth.phones += 1
        return self._written(code, style)

    # -- rows -----------------------------------------------------------------------

    def row(self) -> list[str]:
        rng = self.rng
        truth = self.truth
        truth.rows += 1
        x = rng.random()
        phone2 = ""
        accepted = False
        if x < INVALID_SHARE:
            truth.invalid += 1
            phone, phone2 = self._invalid_phones()
        elif x < INVALID_SHARE + DUPLICATE_SHARE and self.accepted_numbers:
            truth.duplicates += 1
            j = int(rng.random() * len(self.accepted_numbers))
            style = (self.accepted_styles[j] + 1 + int(rng.random() * 4)) % len(STYLE_NAMES)
            phone = self._with_note(self._written(self.accepted_numbers[j], style))
            if rng.random() < 0.2:  # a fresh 携帯 changes nothing: the row is a duplicate
                phone2 = self._written(self._fresh(mobile=True), self._style())
        else:
            accepted = True
            truth.accepted += 1
            first = self._accepted_cell(self._fresh(mobile=False), self._style())
            if rng.random() < MULTI_SHARE:
                truth.multi_cells += 1
                second = self._accepted_cell(self._fresh(mobile=True), int(rng.random() * 2))
                separator = MULTI_SEPARATORS[int(rng.random() * len(MULTI_SEPARATORS))]
                phone = first + separator + second
            else:
                phone = self._with_note(first)
            if rng.random() < PHONE2_SHARE:
                phone2 = self._with_note(
                    self._accepted_cell(self._fresh(mobile=True), self._style())
                )
        name = self._name()
        if name and accepted:
            truth.contacts += 1
        truth.phone_cells += bool(phone) + bool(phone2)
        return [name, phone, phone2, *self._details()]

    def _invalid_phones(self) -> tuple[str, str]:
        rng = self.rng
        y = rng.random()
        if y < 0.15:  # no 電話番号 at all, only a 携帯: the importer wants the phone
            return "", self._written(self._fresh(mobile=True), self._style())
        if y < 0.30:  # a good 電話番号, a broken 携帯
            phone = self._written(self._fresh(mobile=False), self._style())
            code = self._fresh(mobile=True)
            sub = str(code % 100_000_000)
            return phone, _invalid_cell(AREAS[code // 100_000_000], sub, int(rng.random() * 5))
        code = self._fresh(mobile=False)
        sub = str(code % 100_000_000)
        phone = _invalid_cell(AREAS[code // 100_000_000], sub, int(rng.random() * 8))
        phone2 = ""
        if rng.random() < 0.3:
            phone2 = self._written(self._fresh(mobile=True), self._style())
        return phone, phone2

    def _name(self) -> str:
        rng = self.rng
        if rng.random() < NAMELESS_SHARE:
            return ""
        surname = SURNAMES[int(rng.random() * len(SURNAMES))]
        given = GIVEN_NAMES[int(rng.random() * len(GIVEN_NAMES))]
        return surname + ("　" if rng.random() < 0.5 else " ") + given

    def _details(self) -> list[str]:
        rng = self.rng
        r = rng.random
        company = ""
        if r() < 0.4:
            core = COMPANY_CORES[int(r() * len(COMPANY_CORES))]
            company = f"株式会社{core}" if r() < 0.6 else f"{core}株式会社"
        provider = PROVIDERS[int(r() * len(PROVIDERS))] if r() < 0.9 else ""
        contract = f"{int(r() * 10**11):011d}{int(r() * 10**11):011d}" if r() < 0.7 else ""
        postal = f"{int(r() * 1000):03d}-{int(r() * 10000):04d}"
        if r() < 0.1:
            postal = "〒" + postal
        prefecture = PREFECTURES[int(r() * len(PREFECTURES))]
        p = r()
        priority = "" if p < 0.2 else str(int(r() * 10))
        if p > 0.95:
            priority = priority.translate(_FULLWIDTH)  # '５': NFKC makes it 5
        notes = NOTES[int(r() * len(NOTES))] if r() < 0.35 else ""
        return [company, provider, contract, postal, prefecture, priority, notes]


def _check_numbering(seed: int) -> None:
    """Every number the generator can make must be valid for phonenumbers, or the
    truth is wrong before the import starts: check a sample of every area."""
    rng = random.Random(seed)
    for area in AREAS:
        for _ in range(200):
            national = f"0{area}{rng.randrange(10_000_000, 100_000_000)}"
            if not phonenumbers.is_valid_number(phonenumbers.parse(national, REGION)):
                raise RuntimeError(f"generator bug: {national} is not a valid {REGION} number")


def generate(path: Path, *, rows: int, seed: int) -> Truth:
    """Write the list (CP932, streaming, CRLF like Excel) and return its truth."""
    writer_rows = LeadListWriter(seed)
    digest = hashlib.sha256()
    with path.open("wb") as raw:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerow(HEADER)
        done = 0
        while done < rows:
            n = min(10_000, rows - done)
            out.writerows(writer_rows.row() for _ in range(n))
            data = buffer.getvalue().encode("cp932")
            digest.update(data)
            raw.write(data)
            buffer.seek(0)
            buffer.truncate()
            done += n
    truth = writer_rows.truth
    truth.styles = dict(sorted(writer_rows.styles.items()))
    truth.bytes = path.stat().st_size
    truth.sha256 = digest.hexdigest()
    assert truth.rows == truth.accepted + truth.duplicates + truth.invalid == rows
    return truth


# ---------------------------------------------------------------------------------
# The baseline: phonenumbers alone over the same phone cells, one process.
# ---------------------------------------------------------------------------------


def baseline(path: Path, truth: Truth) -> dict[str, Any]:
    cells: list[str] = []
    rows = 0
    with path.open(encoding="cp932", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        phone_columns = (header.index("電話番号"), header.index("携帯"))
        for record in reader:
            rows += 1
            for column in phone_columns:
                cell = record[column].strip()
                if cell:
                    cells.append(cell)
    assert rows == truth.rows and len(cells) == truth.phone_cells, (rows, len(cells))
    parse = phonenumbers.parse
    is_valid = phonenumbers.is_valid_number
    format_number = phonenumbers.format_number
    e164 = phonenumbers.PhoneNumberFormat.E164
    not_a_number = phonenumbers.NumberParseException
    valid = 0
    started = time.perf_counter()
    for cell in cells:
        try:
            number = parse(cell, REGION)
        except not_a_number:
            continue
        if is_valid(number):
            format_number(number, e164)
            valid += 1
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "phones": len(cells),
        "valid": valid,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "phones_per_s": round(len(cells) / seconds, 1),
    }


# ---------------------------------------------------------------------------------
# The import, in a fresh subprocess: its peak RSS is the import's own.
# ---------------------------------------------------------------------------------


def _prepare(url: str) -> int:
    """Schema and an empty campaign; the child only imports."""
    upgrade(url)
    db = Database(url)
    try:
        with db.write() as session:
            campaign = create_campaign(
                session, data=CampaignCreate(name="Import benchmark"), now=wall_now()
            )
            assert campaign.id is not None
            return campaign.id
    finally:
        db.dispose()


def _check_database(url: str, *, campaign_id: int, import_id: int) -> dict[str, int]:
    """What the import left behind, counted in the database itself."""
    queries = {
        "leads_new": "SELECT count(*) FROM lead WHERE campaign_id = :c AND status = 'new'",
        "leads_other": "SELECT count(*) FROM lead WHERE campaign_id = :c AND status <> 'new'",
        "phones": "SELECT count(*) FROM phone WHERE campaign_id = :c",
        "contacts": "SELECT count(*) FROM contact JOIN lead ON lead.id = contact.lead_id"
        " WHERE lead.campaign_id = :c",
        "events": "SELECT count(*) FROM event JOIN lead ON lead.id = event.lead_id"
        " WHERE lead.campaign_id = :c AND event.kind = 'imported'",
        "errors_invalid": "SELECT count(*) FROM import_row_error WHERE import_id = :i"
        " AND kind = 'invalid'",
        "errors_duplicate": "SELECT count(*) FROM import_row_error WHERE import_id = :i"
        " AND kind = 'duplicate'",
    }
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return {
                key: int(conn.execute(text(sql), {"c": campaign_id, "i": import_id}).scalar_one())
                for key, sql in queries.items()
            }
    finally:
        db.dispose()


def _verdict(counts: dict[str, Any], stored: dict[str, int], truth: Truth) -> list[str]:
    """Every way the import differs from the truth; empty when it is exact."""
    expected = {
        "status": "done",
        "rows": truth.rows,
        "accepted": truth.accepted,
        "duplicates": truth.duplicates,
        "invalid": truth.invalid,
        "suppressed": truth.suppressed,
    }
    problems = [
        f"{key}: import says {counts.get(key)!r}, truth {want!r}"
        for key, want in expected.items()
        if counts.get(key) != want
    ]
    in_database = {
        "leads_new": truth.accepted,
        "leads_other": 0,
        "phones": truth.phones,
        "contacts": truth.contacts,
        "events": truth.accepted,
        "errors_invalid": truth.invalid,
        "errors_duplicate": truth.duplicates,
    }
    problems += [
        f"{key}: database holds {stored[key]}, truth {want}"
        for key, want in in_database.items()
        if stored[key] != want
    ]
    return problems


def run_import(
    engine: str,
    url: str,
    path: Path,
    truth: Truth,
    *,
    mode: str,
    label: str,
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Prepare the database, import in a child process, check the result."""
    campaign_id = _prepare(url)
    server_before = server_cpu() if server_cpu is not None else 0.0
    spec = {
        "engine": engine,
        "url": url,
        "file": str(path),
        "campaign_id": campaign_id,
        "mode": mode,
        "label": label,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    server_s = server_cpu() - server_before if server_cpu is not None else None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{label}: the import process exited {done.returncode}")
    result: dict[str, Any] = json.loads(lines[-1])
    if server_s is not None:
        # Every process of the cluster (backends, autovacuum, WAL writer) while the
        # child ran: the import's cost on the database side.
        result["server_cpu_s"] = round(server_s, 2)
    stored = _check_database(url, campaign_id=campaign_id, import_id=result["import_id"])
    result["database"] = stored
    result["problems"] = _verdict(result["counts"], stored, truth)
    result["counts_ok"] = not result["problems"]
    return result


def _cluster_cpu(data_dir: Path) -> Callable[[], float]:
    """CPU seconds the cluster has used so far: the postmaster, the children it has
    reaped, and the children still running."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int | str) -> list[str]:
        # After the ')' that closes the command name: field 3 (state) onwards.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def cpu() -> float:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        own = fields(postmaster)
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError):
                stat = fields(entry.name)
                if int(stat[1]) == postmaster:
                    ticks += int(stat[11]) + int(stat[12])
        return ticks / tick

    return cpu


def _code_versions() -> dict[str, str]:
    """Which dialer code the import ran: where it was loaded from, and a digest of
    each module on the import path (the importer is being worked on)."""
    import dialer
    from dialer import db as db_module
    from dialer.leads import csvfile, importer, phones

    versions = {"dialer": str(Path(dialer.__file__).parent)}
    for module in (importer, phones, csvfile, db_module):
        source = Path(module.__file__ or "")
        versions[source.name] = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    return versions


def _git_state(package_dir: str) -> dict[str, Any]:
    """HEAD and the modified files under dialer/, read-only, when dialer/ is a checkout."""
    state: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", package_dir, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        status = subprocess.run(
            ["git", "-C", package_dir, "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        )
        state["head"] = head.stdout.strip()
        state["modified"] = [line[3:] for line in status.stdout.splitlines()]
    return state


def _status_kb(name: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def _children_hwm_kb() -> int:
    """The largest peak RSS (VmHWM) among this process's live children: the
    importer's worker. getrusage cannot say: on Linux a process's ru_maxrss
    starts from its parent's peak at fork and survives exec, so a spawned worker
    (and this child of the benchmark, whose parent holds the baseline's cells)
    would report its parent's peak instead of its own."""
    peak = 0
    for children in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for pid in children.read_text().split():
                with contextlib.suppress(OSError, ValueError):
                    peak = max(peak, _status_kb("VmHWM", pid))
    return peak


def child_main(spec: dict[str, Any]) -> int:
    from dialer.leads.importer import start_import
    from dialer.views.imports import get_import

    label = spec["label"]
    db = Database(spec["url"])
    clock: PhaseClock | None = None
    if spec["mode"] == "phases":
        clock = PhaseClock()
        clock.instrument(db)
    rss_before_kb = _status_kb("VmRSS")
    next_report = [0.1]
    children_peak_kb = [0]

    def progress(lead_import: Any, fraction: float) -> None:
        # Sampled at every batch: the worker's peak, shortly before it exits.
        children_peak_kb[0] = max(children_peak_kb[0], _children_hwm_kb())
        if fraction >= next_report[0]:
            elapsed = time.perf_counter() - started
            print(
                f"#   {label}: {fraction:>4.0%}  {lead_import.rows:>9,} rows"
                f"  {lead_import.rows / elapsed:>8,.0f} rows/s  {elapsed:>6.1f}s"
                f"  rss {_status_kb('VmRSS') / 1024:>4.0f} MB",
                file=sys.stderr,
                flush=True,
            )
            next_report[0] = math.floor(fraction * 10 + 1) / 10

    profiler = cProfile.Profile() if spec["mode"] == "cprofile" else None
    cpu_started = time.process_time()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    if clock is not None:
        clock.start()
    import_id = start_import(
        db,
        runner=None,
        campaign_id=spec["campaign_id"],
        path=Path(spec["file"]),
        filename="bench.csv",
        actor="bench",
        now=wall_now(),
        mapping=None,
        sync_limit_bytes=0,
        progress=progress if spec["mode"] == "plain" else None,
    )
    if clock is not None:
        clock.stop()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    with db.read() as session:
        li = get_import(session, import_id=import_id)
        counts = {
            "status": li.status,
            "rows": li.rows,
            "accepted": li.accepted,
            "duplicates": li.duplicates,
            "invalid": li.invalid,
            "suppressed": li.suppressed,
            "encoding": li.encoding,
            "delimiter": li.delimiter,
        }
    db.dispose()
    # VmHWM, not ru_maxrss: see _children_hwm_kb.
    hwm_kb = _status_kb("VmHWM")
    children_kb = children_peak_kb[0]
    result: dict[str, Any] = {
        "import_id": import_id,
        "counts": counts,
        "seconds": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "rows_per_s": round(li.rows / seconds, 1) if seconds else 0.0,
        "rss_before_mb": round(rss_before_kb / 1024, 1),
        "peak_rss_mb": round(hwm_kb / 1024, 1),
        # The importer's worker process (sampled at each batch of the plain run).
        "children_peak_rss_mb": round(children_kb / 1024, 1),
        "code": _code_versions(),
    }
    if clock is not None:
        result["phases"] = clock.report(seconds)
    if profiler is not None:
        result["pstats"] = _pstats_text(profiler)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


# ---------------------------------------------------------------------------------
# Where the time goes: exclusive wall time per phase (entering a phase pauses the
# one around it), SQL per statement kind and table, cyclic GC on the side.
# ---------------------------------------------------------------------------------

_SQL_TABLE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)', re.IGNORECASE)
_SQL_FROM = re.compile(r'\bFROM\s+"?(\w+)', re.IGNORECASE)
FINALIZE = "finalize"


def _sql_label(statement: str) -> str:
    match = _SQL_TABLE.match(statement)
    if match:
        return f"{match.group(1).split()[0].upper()} {match.group(2)}"
    match = _SQL_FROM.search(statement)
    verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    return f"{verb} {match.group(1)}" if match else verb


class PhaseClock:
    """Exclusive wall and CPU time per phase: entering a phase pauses the one around
    it, so the phases add up to the whole import."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.stack: list[list[Any]] = []  # [name, wall at (re)entry, cpu at (re)entry]
        self.gc_s = 0.0
        self.gc_runs = 0
        self._gc_started = 0.0

    def push(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        if self.stack:
            top = self.stack[-1]
            self.wall[top[0]] += wall - top[1]
            self.cpu[top[0]] += cpu - top[2]
            if top[0].endswith(f"[{FINALIZE}]") and not name.endswith(f"[{FINALIZE}]"):
                name = f"{name} [{FINALIZE}]"
        self.stack.append([name, wall, cpu])
        self.calls[name] += 1

    def pop(self) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        name, wall_began, cpu_began = self.stack.pop()
        self.wall[name] += wall - wall_began
        self.cpu[name] += cpu - cpu_began
        if self.stack:
            self.stack[-1][1:] = [wall, cpu]

    def wrap(self, fn: Callable[..., Any], name: str | Callable[..., str]) -> Callable[..., Any]:
        """`fn` timed as phase `name`, or as the phase `name(*args)` names."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.push(name if isinstance(name, str) else name(*args))
            try:
                return fn(*args, **kwargs)
            finally:
                self.pop()

        return timed

    def _gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_s += time.perf_counter() - self._gc_started
            self.gc_runs += 1

    def instrument(self, db: Database) -> None:
        """Wrap the import's steps in this process (the dialer package is untouched).
        Steps the importer of the day does not have are skipped."""
        from dialer import db as db_module
        from dialer.leads import csvfile, importer

        def sql(_owner: Any, statement: str, *_args: Any) -> str:
            return f"SQL {_sql_label(statement)}"

        def copy(_owner: Any, table: str, *_args: Any) -> str:
            return f"SQL COPY {table}"

        targets: tuple[tuple[Any, str, str | Callable[..., str]], ...] = (
            (importer, "open_lead_file", "open file: detect encoding (whole-file decode), header"),
            (importer, "phones_in_cell", "phone normalization"),
            (importer, "validate_row", "row validation (rest)"),
            (importer, "_held_phones", "SQLAlchemy: held-phone lookup"),
            (importer, "listed", "SQLAlchemy: DNC lookup"),
            (importer.ImportJob, "_stage", "importer: batch bookkeeping"),
            (importer.ImportJob, "_insert", "importer: build + bind inserts"),
            (importer.ImportJob, "_finish", f"python [{FINALIZE}]"),
            (db_module.Work, "__init__", "transaction: checkout + BEGIN"),
            (db_module.Work, "_commit", "transaction: ORM flush + COMMIT"),
            (db_module.Work, "_close", "transaction: close"),
            # Hand-written SQL beside SQLAlchemy (no cursor events): timed by statement.
            (db_module.RawSql, "rows", sql),
            (db_module.RawSql, "run", sql),
            (db_module.RawSql, "many", sql),
            (db_module.RawSql, "copy", copy),
        )
        # Module globals and class attributes, looked up at call time by the importer.
        for owner, name, phase in targets:
            if hasattr(owner, name):
                setattr(owner, name, self.wrap(getattr(owner, name), phase))
        read_rows = csvfile.LeadFile.rows
        clock = self

        def rows(lead_file: Any) -> Iterator[Any]:
            source = read_rows(lead_file)
            while True:
                clock.push("CSV: read + decode + parse + Row")
                try:
                    row = next(source)
                except StopIteration:
                    return
                finally:
                    clock.pop()
                yield row

        setattr(csvfile.LeadFile, "rows", rows)  # noqa: B010

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.push(f"SQL {_sql_label(statement)}")

        def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.pop()

        def failed(context: Any) -> None:
            if self.stack and self.stack[-1][0].startswith("SQL "):
                self.pop()

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        event.listen(db.engine, "handle_error", failed)

    def start(self) -> None:
        gc.callbacks.append(self._gc)
        self.push("start_import: rest")

    def stop(self) -> None:
        self.pop()
        gc.callbacks.remove(self._gc)
        assert not self.stack, self.stack

    def report(self, seconds: float) -> dict[str, Any]:
        phases = {
            name: {
                "s": round(total, 3),
                "cpu_s": round(self.cpu[name], 3),
                "calls": self.calls[name],
            }
            for name, total in sorted(self.wall.items(), key=lambda kv: -kv[1])
        }
        return {
            "total_s": round(seconds, 3),
            "measured_s": round(sum(self.wall.values()), 3),
            "gc_s": round(self.gc_s, 3),
            "gc_runs": self.gc_runs,
            "phases": phases,
        }


def _pstats_text(profiler: cProfile.Profile) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    out = buffer.getvalue()
    # Shorter paths: the site-packages and repository prefixes say nothing.
    for prefix in (sysconfig.get_paths()["purelib"], str(Path(__file__).resolve().parents[2])):
        out = out.replace(prefix + os.sep, "")
    return out


# ---------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------


Databases = tuple[Callable[[str], str], Callable[[], float] | None]


@contextlib.contextmanager
def _databases(engine: str, tmp: Path) -> Iterator[Databases | None]:
    """A maker of fresh, empty databases by name and the server's CPU clock (None
    for SQLite, which runs inside the importing process); None when PostgreSQL is
    not installed."""
    if engine == "sqlite":
        yield (lambda name: f"sqlite:///{tmp / (name + '.db')}"), None
        return
    if find_pg_bin_dir() is None:
        yield None
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.create_database, _cluster_cpu(cluster.data_dir)
    finally:
        cluster.stop()


def _describe(result: dict[str, Any], base: dict[str, Any]) -> str:
    ok = "ok" if result["counts_ok"] else "WRONG"
    return (
        f"{result['rows_per_s']:>9,.0f} rows/s  {result['seconds']:>7.1f}s"
        f"  (cpu {result['cpu_s']:.1f}s"
        + (f", server {result['server_cpu_s']:.1f}s" if "server_cpu_s" in result else "")
        + f")  peak RSS {result['peak_rss_mb']:.0f} MB"
        f"  counts {ok}  import/baseline {result['rows_per_s'] / base['rows_per_s']:.2f}"
    )


def _print_phases(engine: str, result: dict[str, Any], rows: int) -> None:
    phases = result["phases"]
    total = phases["total_s"]
    print(
        f"\n## {engine}: where {rows:,} rows' {total:.1f}s go (exclusive time per phase;"
        f" cpu = this process)"
    )
    print(f"## {'phase':<56}{'wall s':>8}{'%':>7}{'µs/row':>8}{'cpu s':>8}{'calls':>9}")
    for name, entry in phases["phases"].items():
        if entry["s"] < 0.005:
            continue
        print(
            f"## {name:<56}{entry['s']:>8.2f}{entry['s'] / total:>7.1%}"
            f"{entry['s'] / rows * 1e6:>8.1f}{entry['cpu_s']:>8.2f}{entry['calls']:>9,}"
        )
    print(
        f"## (measured {phases['measured_s']:.2f}s of {total:.2f}s; process cpu"
        f" {result['cpu_s']:.2f}s; cyclic GC ran {phases['gc_runs']:,} times for"
        f" {phases['gc_s']:.2f}s, inside the phases above)"
    )
    if "server_cpu_s" in result:
        print(f"## database server cpu meanwhile: {result['server_cpu_s']:.2f}s")


def _print_table(results: dict[str, Any], base: dict[str, Any], truth: Truth) -> None:
    print(
        f"\nbaseline (phonenumbers parse+is_valid+E164, one process, the same"
        f" {base['phones']:,} phone cells): {base['rows_per_s']:,.0f} rows/s"
        f" ({base['phones_per_s']:,.0f} phones/s, {base['seconds']:.1f}s)"
    )
    print(
        f"truth: {truth.rows:,} rows = {truth.accepted:,} accepted + {truth.duplicates:,}"
        f" duplicates + {truth.invalid:,} invalid; {truth.phones:,} phones,"
        f" {truth.contacts:,} contacts"
    )
    print(
        f"goal: import/baseline >= {GOAL_RATIO}, peak RSS <= {GOAL_RSS_MB:.0f} MB, exact counts"
        " (cpu: the importing process; db cpu: the PostgreSQL cluster meanwhile)"
    )
    header = (
        f"{'engine':<11}{'rows/s':>9}{'wall s':>9}{'cpu s':>8}{'db cpu s':>9}{'peak MB':>9}"
        f"{'counts':>8}{'import/base':>13}  goal"
    )
    print(header)
    print("-" * len(header))
    for engine, result in results.items():
        if "skipped" in result:
            print(f"{engine:<11} skipped: {result['skipped']}")
            continue
        missed = [
            name
            for name, met in (
                ("ratio", result["ratio"] >= GOAL_RATIO),
                ("rss", result["rss_ok"]),
                ("counts", result["counts_ok"]),
            )
            if not met
        ]
        print(
            f"{engine:<11}{result['rows_per_s']:>9,.0f}{result['seconds']:>9.1f}"
            f"{result['cpu_s']:>8.1f}"
            + (f"{result['server_cpu_s']:>9.1f}" if "server_cpu_s" in result else f"{'-':>9}")
            + f"{result['peak_rss_mb']:>9.0f}"
            f"{'ok' if result['counts_ok'] else 'WRONG':>8}{result['ratio']:>13.2f}"
            f"  {'met' if not missed else 'missed: ' + ', '.join(missed)}"
        )
        for problem in result["problems"]:
            print(f"    {problem}")
    print()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows")
    parser.add_argument("--rows", type=int, help="rows in the list (default 1M, quick 100k)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--engines",
        type=lambda v: [e.strip() for e in v.split(",") if e.strip()],
        default=list(ENGINES),
        help="comma-separated: sqlite,postgresql",
    )
    parser.add_argument(
        "--profile", action="store_true", help="phase breakdown + cProfile per engine"
    )
    parser.add_argument("--profile-rows", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="where the temporary files go (default: TMPDIR)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = 100_000 if args.quick else 1_000_000
    if not 1 <= args.rows <= 20_000_000:
        parser.error("--rows must be between 1 and 20,000,000")
    unknown = [e for e in args.engines if e not in ENGINES]
    if unknown or not args.engines:
        parser.error(f"engines are sqlite and/or postgresql, not {unknown}")
    return args


def bench_engine(
    engine: str,
    tmp: Path,
    args: argparse.Namespace,
    files: dict[str, tuple[Path, Truth]],
    base: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The measured import, then (--profile) the phase breakdown and, on SQLite,
    the cProfile run, each on a fresh database. Returns (result, profile)."""
    with _databases(engine, tmp) as databases:
        if databases is None:
            reason = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
            print(f"# {engine} skipped: {reason}", flush=True)
            return {"skipped": reason}, {}
        make_db, server_cpu = databases
        path, truth = files["main"]
        print(f"# {engine}: importing {truth.rows:,} rows", flush=True)
        result = run_import(
            engine, make_db("bench"), path, truth, mode="plain", label=engine, server_cpu=server_cpu
        )
        result["ratio"] = round(result["rows_per_s"] / base["rows_per_s"], 3)
        peak = result["peak_rss_mb"] + result["children_peak_rss_mb"]
        result["rss_ok"] = peak <= GOAL_RSS_MB
        result["goal_met"] = (
            result["ratio"] >= GOAL_RATIO and result["rss_ok"] and result["counts_ok"]
        )
        print(f"# {engine:<10} {_describe(result, base)}", flush=True)
        profile: dict[str, Any] = {}
        if not args.profile:
            return result, profile
        path, truth = files["profile"]
        phased = run_import(
            engine, make_db("phases"), path, truth, mode="phases", label=f"{engine} phases",
            server_cpu=server_cpu,
        )  # fmt: skip
        profile["phases"] = phased["phases"]
        profile["counts_ok"] = phased["counts_ok"]
        profile["server_cpu_s"] = phased.get("server_cpu_s")
        _print_phases(engine, phased, truth.rows)
        profiled = run_import(
            engine, make_db("cprofile"), path, truth, mode="cprofile", label=f"{engine} cProfile"
        )
        profile["cprofile_s"] = profiled["seconds"]
        profile["counts_ok"] = profile["counts_ok"] and profiled["counts_ok"]
        print(
            f"\n## {engine}: cProfile of the import of {truth.rows:,} rows"
            f" ({profiled['seconds']:.1f}s under the profiler)"
        )
        print(profiled["pstats"])
        return result, profile


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    started = time.perf_counter()
    _check_numbering(args.seed)
    code = _code_versions()
    code.update(_git_state(code["dialer"]))
    print(
        f"# dialer from {code['dialer']}"
        + (f", HEAD {code['head']}" if "head" in code else "")
        + (f", modified: {' '.join(code['modified'])}" if code.get("modified") else ""),
        flush=True,
    )
    results: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "leads.csv"
        began = time.perf_counter()
        truth = generate(path, rows=args.rows, seed=args.seed)
        generate_s = time.perf_counter() - began
        print(
            f"# generated {truth.rows:,} rows, {truth.bytes / 2**20:.1f} MiB CP932 in"
            f" {generate_s:.1f}s: {truth.accepted:,} accepted, {truth.duplicates:,} duplicates,"
            f" {truth.invalid:,} invalid; sha256 {truth.sha256[:16]}",
            flush=True,
        )
        base = baseline(path, truth)
        print(
            f"# baseline: {base['phones']:,} phones in {base['seconds']:.1f}s,"
            f" {base['rows_per_s']:,.0f} rows/s",
            flush=True,
        )
        files = {"main": (path, truth), "profile": (path, truth)}
        if args.profile and args.profile_rows != args.rows:
            profile_path = tmp / "profile.csv"
            profile_truth = generate(profile_path, rows=args.profile_rows, seed=args.seed)
            files["profile"] = (profile_path, profile_truth)
        for engine in args.engines:
            results[engine], profile = bench_engine(engine, tmp, args, files, base)
            if profile:
                profiles[engine] = profile
    wall = time.perf_counter() - started
    _print_table(results, base, truth)
    measured = [r for r in results.values() if "skipped" not in r]
    counts_ok = all(r["counts_ok"] for r in measured) and all(
        p["counts_ok"] for p in profiles.values()
    )
    summary: dict[str, Any] = {
        "rows": args.rows,
        "seed": args.seed,
        "quick": args.quick,
        "code": code,
        "truth": asdict(truth),
        "generate_s": round(generate_s, 2),
        "baseline": base,
        **results,
        "goal_ratio": GOAL_RATIO,
        "goal_rss_mb": GOAL_RSS_MB,
        "goal_met": bool(measured) and all(r["goal_met"] for r in measured),
        "counts_ok": counts_ok,
        "wall_s": round(wall, 1),
    }
    if profiles:
        summary["profile"] = profiles
    print(f"# wall time {wall:.1f}s", flush=True)
    print(json.dumps(summary, separators=(",", ":"), ensure_ascii=False))
    return 0 if counts_ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The `dialer` command."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.errors import DialerError
from dialer.settings import ClockMode, Settings, SettingsRefused, get_settings

# Seconds a stop waits for open requests (event streams among them) to end.
GRACEFUL_SHUTDOWN_SECONDS = 5

# uvicorn's --root-path: served behind a proxy that strips this prefix.
ROOT_PATH_HELP = (
    "the path prefix a proxy strips before forwarding (e.g. /dialer); DIALER_PUBLIC_URL"
    " then ends with it"
)


def _root_path(value: str) -> str:
    """`/dialer`: one leading slash, none trailing (else the prefix is not what a
    path starts with)."""
    if value and (not value.startswith("/") or value.endswith("/") or len(value) > 200):
        raise SystemExit(
            f"error: --root-path must start with / and not end with one, like /dialer: {value!r}"
        )
    return value


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from dialer import logs
    from dialer.app import create_app
    from dialer.runtime import Runtime
    from dialer.scheduler import start_background

    root_path = _root_path(args.root_path)
    logs.configure(log_format=settings.log_format)
    runtime = Runtime(settings)
    runtime.start()
    scheduler, ticker = start_background(runtime)
    try:
        uvicorn.run(
            create_app(settings, runtime=runtime),
            host=args.host,
            port=args.port,
            root_path=root_path,
            log_config=logs.config_dict(log_format=settings.log_format),
            # dialer.logs.RequestLog writes the one line per request.
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    finally:
        scheduler.shutdown(wait=False)
        ticker.stop()
        runtime.close()
    return 0


def _web(args: argparse.Namespace, settings: Settings) -> int:
    """The web replicas' command (the Procfile's `web`): `WEB_CONCURRENCY` uvicorn
    workers, no scheduler. Metrics are kept in files that every worker's /metrics
    adds up (prometheus_client's multiprocess mode), so a scrape answers the same
    whichever worker takes it."""
    import tempfile

    import uvicorn

    root_path = _root_path(args.root_path)
    workers = args.workers if args.workers is not None else _env_int("WEB_CONCURRENCY", 1)
    port = args.port if args.port is not None else _env_int("PORT", 8000)
    if not 1 <= workers <= 256:
        print(f"error: WEB_CONCURRENCY must be 1 to 256, not {workers}", file=sys.stderr)
        return 2
    if not 0 <= port <= 65535:
        print(f"error: PORT must be 0 to 65535, not {port}", file=sys.stderr)
        return 2
    metrics_dir = settings.metrics_dir or tempfile.mkdtemp(prefix="dialer-metrics-")
    # Before prometheus_client is imported here or in a worker (workers inherit
    # the environment): it decides where values live when it is imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    if "dialer.metrics" in sys.modules:
        from dialer import metrics

        if metrics_dir != metrics.MULTIPROCESS_DIR:
            raise RuntimeError("dialer.metrics was imported before the metrics directory was set")
    from dialer import logs
    from dialer.metrics import prepare_multiprocess_dir

    prepare_multiprocess_dir(metrics_dir)
    # Once, here, before any worker starts (main() prints it), like the schema below.
    settings.check_public_url()
    if not settings.upgrade_at_startup:
        # Once, here, in one line (main() prints it; logging is not configured yet
        # so alembic's notes stay silent), before any worker starts:
        # uvicorn's supervisor would report each worker's refusal and exit 0.
        from dialer.db import make_engine
        from dialer.migrations import check_schema

        engine = make_engine(settings.database_url, pool_size=1)
        try:
            check_schema(engine)
        finally:
            engine.dispose()
    logs.configure(log_format=settings.log_format)
    if settings.upgrade_at_startup:
        # Once, here: workers upgrading one new SQLite file at once fail.
        from dialer.db import normalize_url
        from dialer.migrations import upgrade

        upgrade(normalize_url(settings.database_url))
        os.environ["DIALER_AUTO_UPGRADE"] = "false"
    uvicorn.run(
        "dialer.app:app",
        host=args.host,
        port=port,
        workers=workers,
        root_path=root_path,
        log_config=logs.config_dict(log_format=settings.log_format),
        # dialer.logs.RequestLog writes the one line per request.
        access_log=False,
        # Open consoles' event streams never end by themselves: a stop (deploy,
        # Ctrl-C) would wait on them for ever. Browsers reconnect with
        # Last-Event-ID and are replayed what they missed.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"error: {name} must be a whole number, not {value!r}") from None


def _db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    from dialer.db import normalize_url
    from dialer.migrations import upgrade

    print(upgrade(normalize_url(settings.database_url)).describe())
    return 0


def _campaigns_apply(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.campaign.service import apply_campaign_files, campaign_files
    from dialer.runtime import Runtime

    runtime = Runtime(settings)
    runtime.start()
    paths = campaign_files(Path(args.path))
    if not paths:
        print(f"no *.toml campaign files in {args.path}", file=sys.stderr)
        return 1
    with runtime.write() as (session, now):
        for action, campaign in apply_campaign_files(session, paths=paths, now=now):
            print(f"{action} campaign {campaign.id}: {campaign.name}")
    runtime.close()
    return 0


def _leads_import(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select
    from sqlmodel import col

    from dialer.campaign.models import Campaign
    from dialer.leads import csvfile, importer
    from dialer.runtime import Runtime
    from dialer.views.imports import import_report

    runtime = Runtime(settings)
    runtime.start()
    try:
        with runtime.write() as (session, now):
            key = args.campaign
            campaign = session.get(Campaign, int(key)) if key.isdigit() else None
            campaign = campaign or session.scalar(select(Campaign).where(col(Campaign.name) == key))
            if campaign is None:
                print(f"error: no campaign with id or name {key!r}", file=sys.stderr)
                return 2
            campaign_id = campaign.id
        assert campaign_id is not None
        bar = ProgressBar(stream=sys.stderr)
        import_id = importer.start_import(
            runtime.db,
            runner=None,
            campaign_id=campaign_id,
            path=Path(args.file),
            filename=Path(args.file).name,
            actor="cli",
            now=now,
            mapping=csvfile.parse_mapping(args.mapping),
            sync_limit_bytes=0,
            progress=bar.update,
        )
        bar.done()
        with runtime.db.read() as session:
            report = import_report(session, import_id=import_id).model_dump()
        print(_report_text(report, elapsed=bar.elapsed))
        return 0 if report["status"] == "done" else 1
    finally:
        runtime.close()


class ProgressBar:
    """rows, rows/s and an ETA from the share of the file read so far."""

    def __init__(self, *, stream: Any) -> None:
        from dialer.clock import monotonic

        self._now = monotonic
        self.stream = stream
        self.started = monotonic()

    @property
    def elapsed(self) -> float:
        return self._now() - self.started

    def update(self, lead_import: Any, fraction: float) -> None:
        elapsed = max(self.elapsed, 1e-6)
        rate = lead_import.rows / elapsed
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        width = 30
        filled = int(width * min(fraction, 1.0))
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
            f"{lead_import.rows:>10,} rows {rate:>9,.0f} rows/s ETA {eta:5.0f}s"
        )
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _report_text(report: dict[str, Any], *, elapsed: float) -> str:
    lines = [
        f"import {report['id']}: {report['status']} in {elapsed:.1f}s "
        f"({report['encoding']}, delimiter {report['delimiter']!r})",
        f"  rows {report['rows']:,}  accepted {report['accepted']:,}  "
        f"duplicates {report['duplicates']:,}  invalid {report['invalid']:,}  "
        f"suppressed {report['suppressed']:,}",
    ]
    if report["error"]:
        lines.append(f"  error: {report['error']}")
    for error in report["errors"][:10]:
        lines.append(f"  row {error['row']} {error['field']}: {error['reason']}")
    if len(report["errors"]) > 10:
        lines.append(f"  … every rejected row: GET /api/imports/{report['id']}/errors.csv")
    return "\n".join(lines)


def demo_clock_start(now: datetime) -> datetime:
    """The demo's simulated clock starts at 10:00 Tokyo on the next weekday, so the
    floor is open whatever time it is where the demo runs."""
    tokyo = ZoneInfo("Asia/Tokyo")
    day = now.astimezone(tokyo).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tokyo).astimezone(UTC)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.clock import wall_now
    from dialer.demo import seed_demo

    if settings.clock == ClockMode.simulated and settings.clock_start is None:
        settings = settings.model_copy(update={"clock_start": demo_clock_start(wall_now())})
    seed_demo(
        settings,
        campaigns_dir=Path(args.campaigns),
        leads=args.leads,
        out=Path(args.out),
        base_url=f"http://{args.host}:{args.port}",
    )
    if args.serve:
        return _serve(args, settings)
    return 0


def _simulate(args: argparse.Namespace, _settings: Settings) -> int:
    """A policy dry-run on a simulated floor (dialer.simulation); its own
    throw-away database, whatever DATABASE_URL says."""
    import json

    from dialer.simulation import (
        Shares,
        SimConfig,
        SimError,
        parse_pair,
        parse_rates,
        parse_shares,
        report_text,
        run_simulation,
    )

    try:
        config = SimConfig(
            campaign_file=Path(args.campaign) if args.campaign else None,
            agents=args.agents,
            days=args.days,
            leads=args.leads,
            answer_rate=args.answer_rate,
            answer_rates=parse_rates(args.answer_rates) if args.answer_rates else {},
            ring=parse_pair(args.ring, option="--ring"),
            talk=parse_pair(args.talk, option="--talk"),
            wrapup=args.wrapup,
            outcomes=parse_shares(args.outcomes) if args.outcomes else Shares(),
            pacer=args.pacer,
            retry_timing=args.retry_timing,
            seed=args.seed,
            minutes=args.minutes,
        )
        result = run_simulation(config)
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(report_text(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dialer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="web + scheduler in one process (embedded default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--root-path", default="", help=ROOT_PATH_HELP)
    serve.set_defaults(func=_serve)

    web = sub.add_parser(
        "web",
        help="web workers only (WEB_CONCURRENCY of them, default 1); the scheduler runs apart",
    )
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")
    web.add_argument("--workers", type=int, default=None, help="default: $WEB_CONCURRENCY, else 1")
    web.add_argument("--root-path", default="", help=ROOT_PATH_HELP)
    web.set_defaults(func=_web)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="upgrade the schema to the latest revision")
    upgrade.set_defaults(func=_db_upgrade)

    campaigns = sub.add_parser("campaigns", help="campaign definitions")
    c_sub = campaigns.add_subparsers(dest="campaigns_command", required=True)
    apply = c_sub.add_parser("apply", help="create or update campaigns from TOML files")
    apply.add_argument("path", help="a .toml file or a directory of them")
    apply.set_defaults(func=_campaigns_apply)

    leads = sub.add_parser("leads", help="lead lists")
    l_sub = leads.add_subparsers(dest="leads_command", required=True)
    limport = l_sub.add_parser("import", help="import a CSV lead list into a campaign")
    limport.add_argument("campaign", help="campaign id or exact name")
    limport.add_argument("file", help="CSV file (UTF-8, UTF-16 or Shift_JIS; , tab or ;)")
    limport.add_argument("--mapping", help='JSON: header → column, e.g. {"TEL": "phone"}')
    limport.set_defaults(func=_leads_import)

    demo = sub.add_parser("demo", help="seed demo data (campaign, agents, leads) and serve")
    demo.add_argument("--campaigns", default="campaigns")
    demo.add_argument("--leads", type=int, default=300)
    demo.add_argument("--out", default="demo-data")
    demo.add_argument("--serve", action="store_true")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--root-path", default="", help=ROOT_PATH_HELP)
    demo.set_defaults(func=_demo)

    simulate = sub.add_parser(
        "simulate",
        help="a policy dry-run: a campaign, N agents and a simulated provider on the "
        "simulated clock (its own throw-away database)",
    )
    simulate.add_argument("--campaign", help="a campaign TOML file (default: a built-in one)")
    simulate.add_argument("--agents", type=int, default=20, help="1-500 (default 20)")
    simulate.add_argument("--days", type=int, default=1, help="calling days, 1-30 (default 1)")
    simulate.add_argument(
        "--minutes", type=int, default=None, help="only the first M minutes of each day's hours"
    )
    simulate.add_argument("--leads", type=int, default=None, help="default: enough for the floor")
    simulate.add_argument(
        "--answer-rate", type=float, default=0.25, help="share of calls a person answers"
    )
    simulate.add_argument(
        "--answer-rates", default=None, help='by the lead\'s local hour: "9=0.2,10=0.3,..."'
    )
    simulate.add_argument(
        "--ring", default="10,5", help="ring time of answered calls: mean,sd seconds (lognormal)"
    )
    simulate.add_argument("--talk", default="180,90", help="talk time: mean,sd seconds (lognormal)")
    simulate.add_argument(
        "--wrapup", type=int, default=None, help="seconds (default: the campaign's)"
    )
    simulate.add_argument(
        "--outcomes",
        default=None,
        help="shares: converted=0.1,callback=0.1,not_interested=0.6,refused=0.2",
    )
    simulate.add_argument(
        "--pacer", default=None, help="progressive or predictive (default: the campaign's)"
    )
    simulate.add_argument(
        "--retry-timing", default=None, help="fixed or best_hour (default: the campaign's)"
    )
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--json", action="store_true", help="the figures as one JSON object")
    simulate.set_defaults(func=_simulate)

    args = parser.parse_args(argv)
    from dialer.migrations import SchemaNotCurrent

    try:
        result: int = args.func(args, get_settings())
    except DialerError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except SettingsRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SchemaNotCurrent as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return result


if __name__ == "__main__":
    sys.exit(main())

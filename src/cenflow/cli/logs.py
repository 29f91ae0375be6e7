"""``cenflow logs``: query and maintain the flow-log records kept in DATA_DIR/logstore.

Every command works beside a running server: the log store coordinates through file locks
under DATA_DIR, so a query here never sees a half-written or half-compacted state.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import pyarrow as pa

from cenflow.cli.options import data_options
from cenflow.logstore import METRICS, TALKER_KEYS, LogStore, LogstoreError
from cenflow.logstore.analytics import Metric, TalkerKey
from cenflow.logstore.query import rows_of
from cenflow.logstore.stream import encode_row

F = TypeVar("F", bound=Callable[..., Any])

_TIME_HELP = "unix seconds or ISO-8601 (e.g. 2024-06-01T13:00:00Z; without a zone: UTC)"


def parse_time(text: str) -> int:
    """Unix seconds from ``text``: unix seconds, or ISO-8601 (UTC when it names no zone)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither unix seconds nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _time_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else parse_time(value)


def data_dir_options(func: F) -> F:
    """:func:`data_options` for commands that read only files.

    ``--database-url`` stays accepted, so scripts may pass the same flags to every command, but
    is hidden and ignored: the log store keeps no state in the database.
    """

    @functools.wraps(func)
    def without_database(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("database_url", None)
        return func(*args, **kwargs)

    decorated = data_options(without_database)
    for param in getattr(decorated, "__click_params__", []):
        if param.name == "database_url":
            param.hidden = True
    return cast(F, decorated)


def store_options(func: F) -> F:
    """``--project`` and ``--logstore``: which logstore (SLS names, as in the flow log)."""
    func = click.option("--logstore", "-l", required=True, help="Logstore name (LogStoreName of the flow log).")(func)
    func = click.option("--project", "-p", required=True, help="Project name (ProjectName of the flow log).")(func)
    return func


def range_options(func: F) -> F:
    """``--from``, ``--to`` and ``--where``: which records."""
    func = click.option(
        "--where",
        "-w",
        metavar="SQL",
        default=None,
        help="One SQL boolean expression over record fields, e.g. \"dstport = 443 AND srcaddr LIKE '10.%'\". "
        "Double-quote the fields with hyphens: \"log-status\" = 'NODATA'.",
    )(func)
    func = click.option(
        "--to",
        "to_ts",
        metavar="TIME",
        callback=_time_callback,
        default=None,
        help=f"Only windows starting before this, {_TIME_HELP}.",
    )(func)
    func = click.option(
        "--from",
        "from_ts",
        metavar="TIME",
        callback=_time_callback,
        default=None,
        help=f"Only windows starting at or after this, {_TIME_HELP}.",
    )(func)
    return func


def format_option(func: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["json", "table"]),
        default="table",
        show_default=True,
        help="json: one JSON object per line; table: aligned columns for people.",
    )(func)


def _open(data_dir: Path) -> LogStore:
    return LogStore.in_data_dir(data_dir)


def _note_if_missing(store: LogStore, project: str, logstore: str) -> None:
    if not store.exists(project, logstore):
        click.echo(f"note: nothing is stored for {project}/{logstore} under {store.root}", err=True)


def _fail(error: LogstoreError | ValueError) -> click.ClickException:
    return click.ClickException(str(error))


@click.group("logs", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def logs() -> None:
    """Query and maintain flow-log records (DATA_DIR/logstore).

    Records are kept per SLS-style project/logstore as Parquet files partitioned by the UTC
    hour of their capture window (dt=YYYY-MM-DD/hour=HH), which DuckDB, pandas, Spark or Trino
    read directly.  Times select records by the start of their capture window.
    """


@logs.command("query")
@store_options
@range_options
@click.option("--limit", "-n", type=click.IntRange(0), default=None, help="Print at most N records.")
@click.option(
    "--order",
    default=None,
    metavar="FIELDS",
    help='Sort by these fields, e.g. "bytes desc, srcaddr". Default: by window start (oldest first).',
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="json: one JSON object per record per line, keyed by the CEN field names (fields without "
    "a value are left out); table: aligned columns, '-' for no value.",
)
@data_dir_options
def query_command(
    project: str,
    logstore: str,
    from_ts: int | None,
    to_ts: int | None,
    where: str | None,
    limit: int | None,
    order: str | None,
    output_format: str,
    data_dir: Path,
) -> None:
    """Print the records of a logstore (all of them without --from/--to).

    \b
    Examples:
      cenflow logs query -p flowlogs -l cen --from 2024-06-01T00:00Z --to 2024-06-02T00:00Z
      cenflow logs query -p flowlogs -l cen --where "dstport = 22" --format table -n 20

    JSON output streams in bounded memory, oldest window first.
    """
    store = _open(data_dir)
    _note_if_missing(store, project, logstore)
    try:
        if output_format == "json" and order is None:
            with store.stream_json_lines(
                project, logstore, from_ts, to_ts, where=where, limit=limit, lines_per_item=256
            ) as lines:
                for chunk in lines:
                    sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return
        table = store.query(project, logstore, from_ts, to_ts, where, limit, order or "window-start")
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    if output_format == "json":
        for row in table.to_pylist():
            sys.stdout.buffer.write(encode_row(row))
        sys.stdout.flush()
    else:
        _print_table(table, only_filled=True)


@logs.command("top")
@store_options
@range_options
@click.option(
    "--by",
    type=click.Choice(TALKER_KEYS),
    default="srcaddr",
    show_default=True,
    help="Rank sources, destinations, or source-destination pairs.",
)
@click.option(
    "--metric", type=click.Choice(METRICS), default="bytes", show_default=True, help="Rank by bytes or by packets."
)
@click.option("--limit", "-n", type=click.IntRange(1), default=10, show_default=True, help="How many to print.")
@format_option
@data_dir_options
def top_command(
    project: str,
    logstore: str,
    from_ts: int | None,
    to_ts: int | None,
    where: str | None,
    by: str,
    metric: str,
    limit: int,
    output_format: str,
    data_dir: Path,
) -> None:
    """Print the top talkers: addresses (or pairs) with the most traffic.

    Columns: the address(es), bytes, packets and flows (records summed), most first.
    """
    store = _open(data_dir)
    _note_if_missing(store, project, logstore)
    try:
        table = store.top_talkers(
            project,
            logstore,
            by=cast(TalkerKey, by),
            metric=cast(Metric, metric),
            from_ts=from_ts,
            to_ts=to_ts,
            where=where,
            limit=limit,
        )
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    _print(table, output_format)


@logs.command("traffic")
@store_options
@range_options
@click.option(
    "--bucket",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="Width of a time bucket in seconds (60 and 600 match the flow-log windows).",
)
@format_option
@data_dir_options
def traffic_command(
    project: str,
    logstore: str,
    from_ts: int | None,
    to_ts: int | None,
    where: str | None,
    bucket: int,
    output_format: str,
    data_dir: Path,
) -> None:
    """Print traffic over time: bytes, packets and flows per time bucket.

    With both --from and --to every bucket of the range is printed, empty ones as zeros.
    Table output shows bucket starts as UTC times.
    """
    store = _open(data_dir)
    _note_if_missing(store, project, logstore)
    try:
        table = store.traffic(project, logstore, bucket_seconds=bucket, from_ts=from_ts, to_ts=to_ts, where=where)
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    _print(table, output_format, times=("bucket",))


@logs.command("compact")
@click.option("--project", "-p", default=None, help="Only this project (default: every project).")
@click.option("--logstore", "-l", default=None, help="Only this logstore of --project.")
@click.option(
    "--settle",
    type=click.IntRange(0),
    default=3600,
    show_default=True,
    metavar="SECONDS",
    help="Compact an hour only once it ended this long ago (late windows may still arrive before).",
)
@click.option(
    "--max-rows-per-file",
    type=click.IntRange(1),
    default=4_000_000,
    show_default=True,
    help="Size bound of a compacted file.",
)
@data_dir_options
def compact_command(
    project: str | None,
    logstore: str | None,
    settle: int,
    max_rows_per_file: int,
    data_dir: Path,
) -> None:
    """Merge the small files of closed hours into few large ones.

    Safe while the server runs: readers see either the old files or the new ones.  Prints one
    line per hour compacted.  The server also compacts periodically.
    """
    try:
        results = _open(data_dir).compact(project, logstore, settle_seconds=settle, max_rows_per_file=max_rows_per_file)
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    for r in results:
        outcome = (
            f"{r.files_before} files -> {r.files_after}, {r.rows} rows"
            if r.committed
            else "skipped (changed meanwhile)"
        )
        click.echo(f"{r.project}/{r.logstore} {_iso(r.partition_start)}: {outcome}")
    click.echo(f"{sum(r.committed for r in results)} hour(s) compacted")


@logs.group("retention")
def retention_group() -> None:
    """Show, set and apply how long each logstore keeps its records.

    Retention drops whole hours once they ended at least the retention period ago; a logstore
    without a retention keeps everything unless --default-days gives one.  The server applies
    retention periodically, syncing each logstore's retention from its SLS catalogue entry.
    """


@retention_group.command("show")
@click.option("--default-days", type=click.IntRange(1), default=None, help="Retention assumed where none is set.")
@data_dir_options
def retention_show(default_days: int | None, data_dir: Path) -> None:
    """List logstores with their retention, stored hours and hours now expired."""
    store = _open(data_dir)
    rows: list[dict[str, Any]] = []
    now = time.time()
    for project, logstore in store.logstores():
        days = store.retention_days(project, logstore)
        effective = days if days is not None else default_days
        preview = store.apply_retention(project, logstore, now=now, default_days=default_days, dry_run=True)[0]
        partitions = store.store_dir(project, logstore).partitions()
        rows.append(
            {
                "project": project,
                "logstore": logstore,
                "retention_days": "forever" if effective is None else effective,
                "hours": len(partitions),
                "oldest": _iso(partitions[0].start) if partitions else None,
                "expired_hours": len(preview.dropped),
            }
        )
    _print_rows(rows, ["project", "logstore", "retention_days", "hours", "oldest", "expired_hours"])


@retention_group.command("set")
@store_options
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Days to keep; omit to keep forever.")
@data_dir_options
def retention_set(project: str, logstore: str, days: int | None, data_dir: Path) -> None:
    """Set the retention of one logstore."""
    try:
        _open(data_dir).set_retention_days(project, logstore, days)
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    click.echo(f"{project}/{logstore}: retention {'forever' if days is None else f'{days} days'}")


@retention_group.command("apply")
@click.option("--project", "-p", default=None, help="Only this project (default: every project).")
@click.option("--logstore", "-l", default=None, help="Only this logstore of --project.")
@click.option("--default-days", type=click.IntRange(1), default=None, help="Retention for logstores without one.")
@click.option("--dry-run", is_flag=True, help="Only print what would be dropped.")
@data_dir_options
def retention_apply(
    project: str | None,
    logstore: str | None,
    default_days: int | None,
    dry_run: bool,
    data_dir: Path,
) -> None:
    """Drop the hours older than each logstore's retention."""
    try:
        results = _open(data_dir).apply_retention(project, logstore, default_days=default_days, dry_run=dry_run)
    except (LogstoreError, ValueError) as exc:
        raise _fail(exc) from exc
    verb = "would drop" if dry_run else "dropped"
    for r in results:
        if r.dropped:
            span = f"{_iso(r.dropped[0])} to {_iso(r.dropped[-1])}"
            click.echo(f"{r.project}/{r.logstore}: {verb} {len(r.dropped)} hour(s), {span}")
    click.echo(f"{verb} {sum(len(r.dropped) for r in results)} hour(s) in total")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _print(table: pa.Table, output_format: str, *, times: Sequence[str] = ()) -> None:
    if output_format == "json":
        for row in table.to_pylist():
            sys.stdout.buffer.write(encode_row(row))
        sys.stdout.flush()
        return
    rows = table.to_pylist()
    for row in rows:
        for name in times:
            row[name] = _iso(row[name])
    _print_rows(rows, table.column_names)


def _print_table(table: pa.Table, *, only_filled: bool) -> None:
    """Records as a table; with ``only_filled`` the fields no record has are left out."""
    filled = {name for row in rows_of(table) for name in row} if only_filled else set(table.column_names)
    _print_rows(table.to_pylist(), [n for n in table.column_names if n in filled])


def _print_rows(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[("-" if row.get(c) is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())

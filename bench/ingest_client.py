"""Issue 5 with the official client: ``metadata ingest`` of a generated SQLite database (2 000
tables × 20 columns) into ferrometa; wall time, server CPU against client CPU, p50/p99 of the
server's time per PUT, server RSS.

Run with the e2e venv (bench/run.sh ingest-client does this):

    e2e/.venv/bin/python bench/ingest_client.py --out bench/results/ingest-client.md

Reuses the e2e set-up of ``e2e/test_ingestion.py``: the unmodified client
``openmetadata-ingestion==1.6.13.2`` in ``e2e/.venv-om`` run through conftest's ``OmClient``
(clean environment, private HOME), the server configured like that test (basic auth, the admin
principal with a password), the ingestion bot's JWT read with the admin's session
(``ingestion_bot``), the workflow of OpenMetadata's SQLite guide (``write_workflow``) and the
summary check (``assert_ingested``).

Three servers, each fresh, on CPU 0 (``taskset -c 0``, ``TOKIO_WORKER_THREADS=1``):
1. the measured run: ``taskset -c 1 metadata ingest -c workflow.yaml``; wall time, the client's
   CPU (its rusage as a waited-for child), the server's CPU (utime + stime of /proc/<pid>/stat
   before and after), every request the server answered (``ferrometa_http_requests_total``) and
   its time per route (``ferrometa_http_request_duration_seconds``: exact mean from ``_sum`` and
   ``_count``; quantiles of a rolling window, scraped every few seconds), RSS;
2. a capture run: the same client with a passive recorder of its non-GET requests
   (``bench/capture/sitecustomize.py`` on ``PYTHONPATH``), so that the measured run is unmodified;
3. a replay: the captured PUT bodies, in order, one at a time from this process on CPU 1 over one
   keep-alive connection: the client-observed latency of each, and the server's own quantiles.

The server's Prometheus recorder keeps no buckets: a route's time is a *summary* whose
quantiles cover a rolling window of 3 × 20 s (metrics-exporter-prometheus' default), so there
are no bucket deltas to take over a long run. The replay is short enough (checked) for one
scrape right after it to hold every replayed PUT.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402

from conftest import OM_CLIENT_VERSION, OM_VENV, Ferrometa, OmClient  # noqa: E402
from pybench import cpu_seconds, header, metrics, pct, rss_kib, run, start_ferrometa  # noqa: E402
from test_ingestion import ENV, admin_token, assert_ingested, ingestion_bot, write_workflow  # noqa: E402

SERVER_CPU, CLIENT_CPU = 0, 1
CPU_RATIO_GOAL = 0.10
PUT_P99_GOAL_S = 0.005
DURATION = "ferrometa_http_request_duration_seconds"
REQUESTS = "ferrometa_http_requests_total"
# The summary's window: 3 buckets of 20 s; a replay shorter than the window minus one bucket is
# entirely inside the window at the scrape that follows it.
WINDOW_COVERED_S = 40.0
CAPTURE_DIR = ROOT / "bench" / "capture"

# Declared SQLite types the client maps (its SQLAlchemy dialect), cycled over the columns.
COLUMN_TYPES = [
    "BIGINT", "VARCHAR(100)", "TEXT", "DATETIME", "DECIMAL(10, 2)", "BOOLEAN", "BLOB", "DATE", "REAL", "CHAR(20)",
    "SMALLINT", "NUMERIC(8, 3)", "TIMESTAMP", "INTEGER", "FLOAT", "DOUBLE", "VARCHAR(32)", "TIME", "JSON", "INT",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# the source database
# --------------------------------------------------------------------------------------------


def make_source(path: Path, tables: int, columns: int, views: int) -> dict[str, int]:
    """``tables`` tables of ``columns`` columns (varied types, NOT NULL and UNIQUE here and there),
    an integer primary key on most, a composite one on every 10th, a foreign key to the previous
    table on every 5th, and ``views`` views. Returns what was made."""
    made = {"tables": tables, "columns": 0, "primary keys": 0, "composite primary keys": 0, "foreign keys": 0, "views": views}
    with sqlite3.connect(path) as db:
        composite = set()
        for t in range(tables):
            cols, constraints = [], []
            if t % 10 == 9:
                cols += ["part_a INTEGER NOT NULL", "part_b VARCHAR(16) NOT NULL"]
                constraints.append("PRIMARY KEY (part_a, part_b)")
                composite.add(t)
                made["composite primary keys"] += 1
            else:
                cols.append("id INTEGER PRIMARY KEY")
                made["primary keys"] += 1
            if t % 5 == 4 and (t - 1) not in composite:
                cols.append("parent_id INTEGER REFERENCES t{:04d} (id)".format(t - 1))
                made["foreign keys"] += 1
            for c in range(len(cols), columns):
                kind = COLUMN_TYPES[(t + c) % len(COLUMN_TYPES)]
                extra = " NOT NULL" if c % 7 == 3 else (" UNIQUE" if c % 11 == 5 else "")
                cols.append(f"c{c:02d}_{re.sub(r'[^a-z]', '', kind.lower())} {kind}{extra}")
            made["columns"] += len(cols)
            db.execute(f"CREATE TABLE t{t:04d} ({', '.join(cols + constraints)})")
        for v in range(views):
            t = next(i for i in range(v * (tables // max(views, 1)), tables) if i not in composite)
            db.execute(f"CREATE VIEW v{v:03d} AS SELECT * FROM t{t:04d} WHERE id > {v}")
    return made


# --------------------------------------------------------------------------------------------
# the server's request metrics
# --------------------------------------------------------------------------------------------


def by_route(snapshot: dict, name: str, method: str | None = None, **labels: str) -> dict[tuple[str, str], float]:
    """(method, route) -> value of one metric (and label values, e.g. ``quantile="0.99"``)."""
    out = {}
    for (n, lbls), v in snapshot.items():
        d = dict(lbls)
        if n == name and (method is None or d.get("method") == method) and all(d.get(k) == x for k, x in labels.items()):
            key = (d.get("method", ""), d.get("route", ""))
            out[key] = out.get(key, 0.0) + v
    return out


def delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


class Scraper:
    """Scrapes the server's metrics every ``every`` seconds in a thread (the quantiles of a
    summary cover only a rolling window, so a long run needs several looks)."""

    def __init__(self, server: Ferrometa, every: float):
        self.server, self.every, self.snapshots = server, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.snapshots.append(metrics(self.server))

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join()
        self.snapshots.append(metrics(self.server))
        return self.snapshots


# --------------------------------------------------------------------------------------------
# the three runs
# --------------------------------------------------------------------------------------------


@dataclass
class CapturingClient(OmClient):
    """The same client, with the recorder of bench/capture/sitecustomize.py."""

    capture: Path | None = None

    def env(self) -> dict[str, str]:
        return {**super().env(), "PYTHONPATH": str(CAPTURE_DIR), "FERROMETA_BENCH_CAPTURE": str(self.capture)}


def start(binary: Path, work: Path) -> tuple[Ferrometa, str]:
    """A fresh server configured like test_ingestion's, pinned; returns it and the bot's JWT."""
    server = start_ferrometa(binary, {**ENV, "TOKIO_WORKER_THREADS": "1"}, work, prefix=("taskset", "-c", str(SERVER_CPU)))
    _, bot = ingestion_bot(server, admin_token(server))
    return server, bot


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ingest(om: OmClient, workflow: Path, timeout: float):
    return om.run(["taskset", "-c", str(CLIENT_CPU), str(om.venv / "bin" / "metadata"), "ingest", "-c", str(workflow)], cwd=workflow.parent, timeout=timeout)


def measured_run(args, om: OmClient, source: Path, work: Path, expected_tables: int) -> dict:
    server, bot = start(args.binary, work / "measured")
    try:
        workflow = write_workflow(work / "measured.yaml", server, source, bot)
        before, server_cpu0, client_cpu0 = metrics(server), cpu_seconds(server.proc.pid), children_cpu()
        scraper = Scraper(server, args.scrape_every)
        t0 = time.perf_counter()
        proc = ingest(om, workflow, args.timeout)
        wall = time.perf_counter() - t0
        client_cpu, server_cpu = children_cpu() - client_cpu0, cpu_seconds(server.proc.pid) - server_cpu0
        snapshots = scraper.stop()
        rss = rss_kib(server.proc.pid)
        out = assert_ingested(proc, "measured run")
        admin = admin_token(server)
        total = server.get("/api/v1/tables?limit=1", token=admin).json()["paging"]["total"]
        assert total == expected_tables, f"{total} tables in the catalog, {expected_tables} expected"
        after = snapshots[-1]
    finally:
        server.stop()
    return {
        "wall": wall,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
        "rss": rss,
        "requests": delta(by_route(after, REQUESTS), by_route(before, REQUESTS)),
        "time_sum": delta(by_route(after, DURATION + "_sum"), by_route(before, DURATION + "_sum")),
        "time_count": delta(by_route(after, DURATION + "_count"), by_route(before, DURATION + "_count")),
        "windows": [(by_route(s, DURATION, "PUT", quantile="0.5"), by_route(s, DURATION, "PUT", quantile="0.99")) for s in snapshots],
        "summary": [ANSI.sub("", line).split(" - ", 1)[-1].strip() for line in out.splitlines() if re.search(r"(Processed records|Updated records|Warnings|Errors|Success %|Workflow finished)", line)][-8:],
    }


def capture_run(args, source: Path, work: Path) -> list[dict]:
    server, bot = start(args.binary, work / "capture")
    capture = work / "capture.jsonl"
    try:
        om = CapturingClient(venv=OM_VENV, home=work / "om-home", capture=capture)
        assert_ingested(ingest(om, write_workflow(work / "capture.yaml", server, source, bot), args.timeout), "capture run")
    finally:
        server.stop()
    return [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines()]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def replay(args, captured: list[dict], work: Path) -> dict:
    """The captured PUTs whose URL names no entity id (those ids are the capture server's), in
    order, on a fresh server; then `system/version` GETs as the same-connection baseline."""
    puts = [c for c in captured if c["method"] == "PUT" and not UUID.search(c["url"])]
    skipped = [c for c in captured if c not in puts]
    server, bot = start(args.binary, work / "replay")
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        session = requests.Session()
        session.trust_env = False
        headers = {"Authorization": f"Bearer {bot}", "Content-type": "application/json"}
        session.get(server.url("/api/v1/system/version"), headers=headers, timeout=30)
        before = metrics(server)
        latencies: dict[str, list[float]] = {}
        t0 = time.perf_counter()
        for c in puts:
            path = urlparse(c["url"]).path
            t = time.perf_counter()
            r = session.put(server.url(path), data=c["body"], headers=headers, timeout=30)
            latencies.setdefault(path, []).append(time.perf_counter() - t)
            assert r.status_code in (200, 201), f"replayed PUT {path}: {r.status_code} {r.text[:300]}"
        replay_s = time.perf_counter() - t0
        after = metrics(server)
        version = []
        for _ in range(args.baseline_requests):
            t = time.perf_counter()
            r = session.get(server.url("/api/v1/system/version"), headers=headers, timeout=30)
            version.append(time.perf_counter() - t)
            assert r.status_code == 200
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 2)))
        server.stop()
    counts = delta(by_route(after, DURATION + "_count"), by_route(before, DURATION + "_count"))
    sums = delta(by_route(after, DURATION + "_sum"), by_route(before, DURATION + "_sum"))
    return {
        "puts": len(puts),
        "skipped": {f"{c['method']} {UUID.sub('{id}', urlparse(c['url']).path)}": sum(1 for x in skipped if x["method"] == c["method"] and UUID.sub("{id}", urlparse(x["url"]).path) == UUID.sub("{id}", urlparse(c["url"]).path)) for c in skipped},
        "seconds": replay_s,
        "client": latencies,
        "server_p50": by_route(after, DURATION, "PUT", quantile="0.5"),
        "server_p99": by_route(after, DURATION, "PUT", quantile="0.99"),
        "server_mean": {k: v / counts[k] for k, v in sums.items() if k[0] == "PUT" and counts.get(k)},
        "version": version,
    }


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------


def ms(s: float) -> str:
    return f"{s * 1000:.2f} ms"


def report(args, made: dict, m: dict, r: dict, client_version: str) -> str:
    tables_put = ("PUT", "/api/v1/tables")
    reduced = "" if (args.tables, args.columns) == (2000, 20) else f" **(reduced-size run: {args.tables} tables × {args.columns} columns, not the 2 000 × 20 of the issue)**"
    head = header(
        "Official-client ingest: `metadata ingest` of a SQLite database (issue 5)",
        [
            f"- Binary: `{os.path.relpath(args.binary.resolve(), ROOT)}` (`{run([str(args.binary.resolve()), '--version'])}`); each server fresh, on CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`, `TOKIO_WORKER_THREADS=1`), configured like `e2e/test_ingestion.py` (basic auth, `AUTHORIZER_ADMIN_PRINCIPALS` with a password); the client sends the ingestion bot's JWT",
            f"- Client: `{client_version}` (`e2e/.venv-om`, run through conftest's `OmClient`), `taskset -c {CLIENT_CPU} metadata ingest -c workflow.yaml` with the workflow of `test_ingestion.write_workflow` (`includeViews`, `includeDDL`, `markDeletedTables`)",
            f"- Source{reduced}: SQLite, {made['tables']} tables, {made['columns']} columns in all ({args.columns} per table, {len(COLUMN_TYPES)} declared types cycled, NOT NULL and UNIQUE here and there), {made['primary keys']} integer and {made['composite primary keys']} composite primary keys, {made['foreign keys']} foreign keys, {made['views']} views",
            "",
        ],
    )
    client_cpu, server_cpu = m["client_cpu"], m["server_cpu"]
    cpu_ratio = server_cpu / client_cpu
    p99 = r["server_p99"].get(tables_put, float("nan"))
    version_p99 = pct(r["version"], 99)
    entities = made["tables"] + made["views"]
    lines = [head, "## Summary", "", "| metric | measured | baseline (same run) | ratio | goal | result |", "|---|---|---|---|---|---|"]
    lines.append(f"| wall time of `metadata ingest` | {m['wall']:.1f} s ({entities / m['wall']:.1f} tables and views/s) | – | – | none (reported) | – |")
    lines.append(f"| server CPU (utime + stime) vs client CPU (the child's rusage) | {server_cpu:.2f} s | client {client_cpu:.2f} s | {cpu_ratio:.3f} | ≤ {CPU_RATIO_GOAL} | {'**pass**' if cpu_ratio <= CPU_RATIO_GOAL else '**MISS**'} |")
    lines.append(
        f"| p99 of the server's time per `PUT /api/v1/tables` (replay of the client's {len(r['client'].get('/api/v1/tables', []))} table bodies; the server's own summary) | {ms(p99)} (p50 {ms(r['server_p50'].get(tables_put, float('nan')))}) | `GET /system/version` round trip p99 {ms(version_p99)} (client-observed) | {p99 / version_p99:.1f} | ≤ 5 ms | {'**pass**' if p99 <= PUT_P99_GOAL_S else '**MISS**'} |"
    )
    lines.append(f"| server RSS after the ingest (peak) | {m['rss'][0] / 1024:.1f} MiB ({m['rss'][1] / 1024:.1f} MiB) | – | – | none (reported) | – |")
    lines += ["", "## The measured run: what the client asked, and the server's time per route", ""]
    lines.append("The client's summary: " + "; ".join(f"`{s}`" for s in m["summary"][-4:]) + ".")
    lines += ["", "| method | route | requests | server time: mean (exact, `_sum`/`_count`) | server p50 / p99 (rolling 60 s windows: median of p50s, max of p99s over the scrapes) |", "|---|---|---|---|---|"]
    for key in sorted(m["requests"], key=lambda k: -m["requests"][k]):
        count, total = m["time_count"].get(key, 0), m["time_sum"].get(key, 0)
        windows = [(w50[key], w99[key]) for (w50, w99) in m["windows"] if key in w50 and key in w99 and w99[key] > 0]
        win = f"{ms(statistics.median(w[0] for w in windows))} / {ms(max(w[1] for w in windows))} ({len(windows)} scrapes)" if windows and key[0] == "PUT" else "–"
        lines.append(f"| {key[0]} | `{key[1]}` | {m['requests'][key]:.0f} | {ms(total / count) if count else '–'} | {win} |")
    total_server_time = sum(m["time_sum"].values())
    lines += [
        "",
        f"The server spent {total_server_time:.2f} s inside handlers in all ({total_server_time / m['wall'] * 100:.1f} % of the wall time) and {server_cpu:.2f} s of CPU; the client {client_cpu:.2f} s of CPU ({client_cpu / m['wall'] * 100:.0f} % of the wall time).",
        "",
        "## Replay of the client's PUT bodies on a fresh server",
        "",
        f"{r['puts']} PUTs captured from the client (capture run, second fresh server), replayed in order one at a time from this process on CPU {CLIENT_CPU} over one keep-alive connection (Python `requests`) against a third fresh server, in {r['seconds']:.1f} s"
        + (" (inside the summary's window: the server's quantiles below cover every replayed PUT)." if r["seconds"] <= WINDOW_COVERED_S else f" — **longer than {WINDOW_COVERED_S:.0f} s: the server's quantiles cover only the last part of the replay**."),
        "",
        "| route | PUTs | server p50 / p99 (its summary) | server mean | client-observed p50 / p99 |",
        "|---|---|---|---|---|",
    ]
    for path, lat in r["client"].items():
        key = ("PUT", path)
        lines.append(f"| `PUT {path}` | {len(lat)} | {ms(r['server_p50'].get(key, float('nan')))} / {ms(r['server_p99'].get(key, float('nan')))} | {ms(r['server_mean'].get(key, float('nan')))} | {ms(pct(lat, 50))} / {ms(pct(lat, 99))} |")
    lines.append(f"| baseline `GET /api/v1/system/version` | {len(r['version'])} | – | – | {ms(pct(r['version'], 50))} / {ms(pct(r['version'], 99))} |")
    if r["skipped"]:
        lines += ["", "Not replayed (their URLs name entity ids of the capture server): " + ", ".join(f"`{k}` × {v}" for k, v in sorted(r["skipped"].items())) + "."]
    lines += [
        "",
        "## Method",
        "",
        "- Wall time: `metadata ingest` from spawn to exit. Client CPU: `RUSAGE_CHILDREN` (user + system) of this process before and after the waited-for `taskset … metadata` child (the client runs in that one process). Server CPU: utime + stime of `/proc/<pid>/stat` before and after; it includes everything the server did meanwhile (the metric scrapes too).",
        "- ferrometa's `/metrics` has no histogram buckets: `ferrometa_http_request_duration_seconds` is a Prometheus *summary* per method and route whose quantiles (0, 0.5, 0.9, 0.95, 0.99, 0.999, 1) cover a rolling window of 3 × 20 s, with cumulative `_sum` and `_count`. Bucket deltas over the run are therefore impossible; the measured run reports the exact mean per route (deltas of `_sum`/`_count`) and the window quantiles seen by scrapes every "
        + f"{args.scrape_every:.0f} s. The p99 goal is judged on the replay, which is short enough for one scrape to hold all its PUTs, so its quantiles are the server's own over every replayed PUT (timed in the middleware, from the routed request to the response head).",
        "- The replay creates the same entities in the same order as the client did (each PUT names its container by FQN); the client's own GETs and PATCHes between the PUTs are not replayed, so the server's caches may be colder or warmer than in the real run: compare the replay's mean with the measured run's exact mean per route above.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", type=Path, default=Path(os.environ.get("FERROMETA_BIN") or ROOT / "target" / "release" / "ferrometa"))
    ap.add_argument("--tables", type=int, default=2000)
    ap.add_argument("--columns", type=int, default=20)
    ap.add_argument("--views", type=int, default=20)
    ap.add_argument("--scrape-every", type=float, default=10.0, help="seconds between metric scrapes during the measured run")
    ap.add_argument("--baseline-requests", type=int, default=1000, help="GET /system/version after the replay")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds one `metadata ingest` may take")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest-client.md")
    args = ap.parse_args()
    if not (args.binary.is_file() and os.access(args.binary, os.X_OK)):
        sys.exit(f"{args.binary} is not an executable; build it with `cargo build --release -p ferrometa`")
    if not (OM_VENV / "bin" / "metadata").exists():
        sys.exit(f"{OM_VENV} has no `metadata`: run e2e/run.sh once (it installs openmetadata-ingestion=={OM_CLIENT_VERSION})")
    assert args.views < args.tables and args.columns >= 3
    work = Path(tempfile.mkdtemp(prefix="ferrometa-ingest-client-"))
    try:
        made = make_source(work / "source.db", args.tables, args.columns, args.views)
        om = OmClient(venv=OM_VENV, home=work / "om-home")
        (work / "om-home").mkdir()
        client_version = run([str(OM_VENV / "bin" / "python"), "-c", "from importlib.metadata import version; print('openmetadata-ingestion', version('openmetadata-ingestion'))"])
        print(f"measured run: {args.tables} tables x {args.columns} columns", file=sys.stderr)
        measured = measured_run(args, om, work / "source.db", work, made["tables"] + made["views"])
        print(f"  {measured['wall']:.1f} s; capture run", file=sys.stderr)
        captured = capture_run(args, work / "source.db", work)
        print(f"  {len(captured)} non-GET requests captured; replay", file=sys.stderr)
        replayed = replay(args, captured, work)
        text = report(args, made, measured, replayed, client_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

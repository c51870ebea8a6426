"""Helpers shared by the Python benchmarks (browser.py, ingest_client.py), run with the e2e venv.

They reuse e2e/conftest.py's ``Ferrometa`` process wrapper; what is here is what a benchmark needs
beyond the e2e helpers: starting ferrometa outside pytest (optionally under ``taskset``), CPU time
and memory of a process from ``/proc``, the Prometheus metrics of the admin listener, percentiles
and the header of a result file (the same as the Rust benchmarks' ``RunInfo::header``).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "e2e") not in sys.path:
    sys.path.insert(0, str(ROOT / "e2e"))

from conftest import Ferrometa  # noqa: E402

# --------------------------------------------------------------------------------------------
# glue: start ferrometa like conftest's start_ferrometa fixture does (the fixture itself needs pytest)
# --------------------------------------------------------------------------------------------


def start_ferrometa(binary: Path, env: dict[str, str], work: Path, prefix: tuple[str, ...] = ()) -> Ferrometa:
    """``prefix`` goes before the binary, e.g. ``("taskset", "-c", "0")`` (taskset execs, so the
    process id is the server's)."""
    work.mkdir(parents=True, exist_ok=True)
    full_env = {
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_ADMIN_PORT": "0",
        "FERROMETA_DATA_DIR": str(work / "data"),
        "FERROMETA_LOG_FORMAT": "json",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **env,
    }
    proc = subprocess.Popen([*prefix, str(binary), "serve"], env=full_env, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Ferrometa(proc, full_env, work / "data", work / "ferrometa.log")
    try:
        server.wait_ready()
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    return server


# --------------------------------------------------------------------------------------------
# a process's CPU time and memory, the server's metrics
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all threads), from /proc/<pid>/stat."""
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# `name{labels} value`; route labels hold braces (`/tables/{id}`): the labels end at the last `}`.
METRIC = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>.*)\}\s+(?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(server: Ferrometa) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The admin listener's Prometheus metrics: (name, sorted labels) -> value."""
    out = {}
    for line in requests.get(f"{server.admin_base}/metrics", timeout=30).text.splitlines():
        m = METRIC.match(line)
        if m:
            out[(m["name"], tuple(sorted(LABEL.findall(m["labels"]))))] = float(m["value"])
    return out


# --------------------------------------------------------------------------------------------
# statistics and the header
# --------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation between closest ranks (p in 0..100)."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run(cmd: list[str], strip: bool = True) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip() if strip else out


def header(title: str, extra: list[str]) -> str:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    sha = run(["git", "rev-parse", "--short", "HEAD"])
    dirty = [line[3:] for line in run(["git", "status", "--porcelain", "--", "crates", "Cargo.toml", "Cargo.lock"], strip=False).splitlines() if len(line) > 3]
    if dirty:
        shown = ", ".join(f"`{f}`" for f in dirty[:8]) + (f" and {len(dirty) - 8} more" if len(dirty) > 8 else "")
        revision = f"`{sha}` plus uncommitted changes in {len(dirty)} path(s): {shown}"
    else:
        revision = f"`{sha}` (clean)"
    invocation = os.environ.get("BENCH_INVOCATION") or " ".join(["e2e/.venv/bin/python", *sys.argv])
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines = [
        f"# {title}",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
        f"- Machine: `nproc` = {os.cpu_count()}, CPU: {cpu}, kernel: {platform.system()} {platform.release()}",
        f"- Source: {revision}",
        f"- Command: `{invocation}` (benchmark process allowed on CPUs {cpus})",
        f"- Load average at the start (1, 5, 15 min): {load}",
        *extra,
    ]
    return "\n".join(lines) + "\n"

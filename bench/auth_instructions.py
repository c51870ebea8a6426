"""Issue 14's benchmark, counted instead of timed: the instructions the server spends per request
on a catalog read, with authentication and the policies against both off, in the same run.

Run with the e2e venv (it has PyJWT and cryptography) as root, after a release build:

    e2e/.venv/bin/python bench/auth_instructions.py --out bench/results/auth-instructions.md

On a shared VM, req/s and CPU time of two servers drift by ±10 % from one run to the next
(bench/results/auth.md); instructions counted by valgrind's callgrind do not: the same binary,
requests and data give the same count whatever else the machine does. Each server runs under
callgrind (its database created and migrated by a first start without it, since under valgrind
the migrations would outlast the pool's acquire timeout); the counters are zeroed after a
warm-up, `--requests` reads follow, and the dump's total is divided by them. Servers:

- auth off: NoopFilter + NoopAuthorizer (every request an anonymous admin);
- auth on, Cognito configuration, with the ID tokens of an identity provider served from this
  process: the admin principal (authenticated, admins skip the policies) and a data consumer
  who signed up through the API (authenticated, and judged by the seeded policies);
- auth on, basic auth: the same data consumer with ferrometa's own session token (verified and
  checked against the database on every request: reported, no goal).

The read is `GET /api/v1/tables/name/{fqn}` of a table of 20 columns written through the API.
"""

from __future__ import annotations

import argparse
import base64
import glob
import http.server
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.95
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Counted"
CLIENT = "counted-client"
ADMIN_PASSWORD = "Adm1n-Passw0rd!"
READER_PASSWORD = "R3ader-Passw0rd!"
TABLE = "/api/v1/tables/name/bench.shop.sales.orders"
NOOP = {
    "AUTHORIZER_REQUEST_FILTER": "org.openmetadata.service.security.NoopFilter",
    "AUTHORIZER_CLASS_NAME": "org.openmetadata.service.security.NoopAuthorizer",
}


def call(method: str, url: str, token: str | None = None, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode()


def ok(answer: tuple[int, object], what: str) -> object:
    status, body = answer
    assert status in (200, 201), f"{what}: {status} {body}"
    return body


class Idp:
    """An RSA key, its JWKS served on 127.0.0.1, and Cognito-shaped ID tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="counted-1", alg="RS256", use="sig")
        body = json.dumps({"keys": [jwk]}).encode()

        class Jwks(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def id_token(self, user: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": CLIENT, "sub": f"sub-{user}", "token_use": "id", "cognito:username": user,
            "email": f"{user}@open-metadata.org", "email_verified": True, "iat": now, "auth_time": now, "exp": now + 7200,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "counted-1"})


class Counted:
    """A ferrometa server under callgrind."""

    def __init__(self, binary: Path, workdir: Path, label: str, env: dict[str, str]) -> None:
        self.label, self.workdir = label, workdir
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        data = workdir / f"data-{label}"
        data.mkdir()
        self.env = {
            "PATH": os.environ["PATH"], "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_ADMIN_PORT": str(free_port()),
            "FERROMETA_DATA_DIR": str(data), "FERROMETA_ADMIN_PASSWORD": ADMIN_PASSWORD, "TOKIO_WORKER_THREADS": "1", **env,
        }
        first = subprocess.Popen([str(binary), "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_until_serving(first)
        first.terminate()
        first.wait()
        self.out = workdir / f"callgrind-{label}"
        self.process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}.%p", str(binary), "serve"],
            env=self.env, stdout=open(workdir / f"log-{label}", "w"), stderr=subprocess.STDOUT,
        )
        self.wait_until_serving(self.process)

    def wait_until_serving(self, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{self.label}: the server exited (see {self.workdir})")
            try:
                urllib.request.urlopen(f"{self.base}/api/v1/system/version", timeout=5)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise SystemExit(f"{self.label}: not serving after 600 s")

    def instructions_per_read(self, token: str | None, requests: int) -> float:
        url = self.base + TABLE
        for _ in range(30):
            ok(call("GET", url, token), f"{self.label}: warm-up read")
        subprocess.run(["callgrind_control", "-z", str(self.process.pid)], check=True, capture_output=True)
        for _ in range(requests):
            ok(call("GET", url, token), f"{self.label}: read")
        before = set(glob.glob(f"{self.out}.{self.process.pid}*"))
        subprocess.run(["callgrind_control", "-d", str(self.process.pid)], check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while not (new := set(glob.glob(f"{self.out}.{self.process.pid}*")) - before) and time.monotonic() < deadline:
            time.sleep(0.1)
        text = Path(sorted(new)[-1]).read_text()
        return int(re.search(r"^summary: (\d+)", text, re.M).group(1)) / requests

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_catalog(base: str, token: str | None) -> None:
    columns = [{"name": f"column_{i}", "dataType": "VARCHAR", "dataLength": 255, "description": f"Column {i}."} for i in range(20)]
    for path, body in [
        ("services/databaseServices", {"name": "bench", "serviceType": "Mysql"}),
        ("databases", {"name": "shop", "service": "bench"}),
        ("databaseSchemas", {"name": "sales", "database": "bench.shop"}),
        ("tables", {"name": "orders", "databaseSchema": "bench.shop.sales", "columns": columns}),
    ]:
        ok(call("PUT", f"{base}/api/v1/{path}", token, body), f"PUT {path}")


def login(base: str, email: str, password: str) -> str:
    body = {"email": email, "password": base64.b64encode(password.encode()).decode()}
    return ok(call("POST", f"{base}/api/v1/users/login", body=body), f"login {email}")["accessToken"]


def source_revision() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "crates"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return f"`{rev}` ({'uncommitted changes under crates/' if dirty else 'clean'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=ROOT / "target/release/ferrometa")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/auth-instructions.md")
    args = parser.parse_args()
    if not args.binary.exists():
        raise SystemExit(f"{args.binary} does not exist; build it with `cargo build --release -p ferrometa`")
    idp = Idp()
    cognito = {"AUTHENTICATION_PROVIDER": "aws-cognito", "AUTHENTICATION_AUTHORITY": ISSUER, "AUTHENTICATION_CLIENT_ID": CLIENT, "AUTHENTICATION_PUBLIC_KEYS": f"[{idp.url}]"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        admin, reader = idp.id_token("admin"), idp.id_token("reader")
        # The baseline gets the same request bytes (the reader's Authorization header, ignored):
        # only what the server does with them differs.
        off = Counted(args.binary, work, "off", {**cognito, **NOOP})
        load_catalog(off.base, None)
        counts = {"off": off.instructions_per_read(reader, args.requests)}
        off.stop()
        on = Counted(args.binary, work, "on", cognito)
        ok(call("GET", f"{on.base}/api/v1/users/loggedInUser", admin), "the admin's first sign-in")
        load_catalog(on.base, admin)
        me = ok(call("POST", f"{on.base}/api/v1/users", reader, {"name": "reader", "email": "reader@open-metadata.org"}), "the reader's sign-up")
        assert me["isAdmin"] is False, "the reader must not be an admin"
        counts["admin"] = on.instructions_per_read(admin, args.requests)
        counts["reader"] = on.instructions_per_read(reader, args.requests)
        on.stop()
        basic = Counted(args.binary, work, "basic", {})
        token = login(basic.base, "admin@open-metadata.org", ADMIN_PASSWORD)
        load_catalog(basic.base, token)
        ok(call("POST", f"{basic.base}/api/v1/users", token, {"name": "reader", "email": "reader@open-metadata.org"}), "create the reader")
        change = {"username": "reader", "newPassword": READER_PASSWORD, "confirmPassword": READER_PASSWORD, "requestType": "USER"}
        ok(call("PUT", f"{basic.base}/api/v1/users/changePassword", token, change), "the reader's password")
        counts["basic"] = basic.instructions_per_read(login(basic.base, "reader@open-metadata.org", READER_PASSWORD), args.requests)
        basic.stop()
    write(args, counts)


def write(args: argparse.Namespace, counts: dict[str, float]) -> None:
    off = counts["off"]
    ratio = off / counts["reader"]
    verdict = "**pass**" if ratio >= GOAL else "**MISS**"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown")
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    rows = [
        ("auth off (NoopFilter + NoopAuthorizer): the read alone", counts["off"], "–"),
        ("auth on, the admin principal's Cognito ID token (cached caller; admins skip the policies)", counts["admin"], f"{off / counts['admin']:.3f}"),
        ("**auth on, a data consumer's Cognito ID token (cached caller, judged by the seeded policies)**", counts["reader"], f"**{ratio:.3f}**"),
        ("auth on, basic auth: the data consumer's own session token (RS256 verified and checked against the database on every request)", counts["basic"], f"{off / counts['basic']:.3f}"),
    ]
    lines = [
        "# Instructions per authenticated catalog read, policies included (issue 14)",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        f"- Machine: `nproc` = {os.cpu_count()}, CPU: {cpu}, kernel: {platform.system()} {platform.release()}",
        f"- Source: {source_revision()}",
        f"- Command: `e2e/.venv/bin/python bench/auth_instructions.py --requests {args.requests}` ({valgrind}, `--tool=callgrind`)",
        f"- Read: `GET {TABLE}` (a table of 20 columns written through the API), {args.requests} requests per caller after 30 of warm-up, one at a time, every request with the data consumer's ID token in `Authorization` (the baseline ignores it); instructions of the whole server process (all threads) between zeroing and dumping callgrind's counters, ÷ requests",
        "- Why counted: on this shared VM req/s and CPU time of two servers drift by ±10 % between runs (bench/results/auth.md); instruction counts repeat for the same binary, data and requests",
        "",
        "## Summary",
        "",
        "| server and caller | instructions per read | auth off ÷ this |",
        "|---|---|---|",
        *[f"| {label} | {value:,.0f} | {r} |" for label, value, r in rows],
        "",
        f"Goal: a data consumer's authenticated read costs at most 1/{GOAL} of the read with authentication off: ratio {ratio:.3f}, {verdict}.",
        f"Authentication of a cached Cognito caller adds {counts['admin'] - off:,.0f} instructions per read; the policy evaluation of a data consumer {counts['reader'] - counts['admin']:,.0f} more.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())

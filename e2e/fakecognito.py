"""The Cognito-shaped OIDC stand-in (``fake-cognito/fake-cognito.mjs``) as a Python helper, plus
the plain-HTTP sign-in used by the protocol tests of ``test_browser.py``.

Only 127.0.0.1 (and ``localhost``, the stand-in's issuer host) is contacted.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

E2E = Path(__file__).resolve().parent
FAKE_DIR = E2E / "fake-cognito"
POOL_ID = "us-east-1_LocalPool1"
PASSWORD = "S3cret-Passw0rd!"
READY_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 30

USERS = [
    {"username": "alice", "password": PASSWORD, "email": "alice@example.com", "name": "Alice Example", "groups": ["admins"]},
    {"username": "bob", "password": PASSWORD, "email": "bob@example.com", "name": "Bob Builder"},
]


def free_port() -> int:
    """A port that was free a moment ago (ferrometa's callback URL must be known before start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FakeCognito:
    proc: subprocess.Popen
    port: int
    issuer: str
    log_path: Path
    clients: list = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def stats(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.port}/test/stats", timeout=HTTP_TIMEOUT_S).json()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_fake_cognito(work: Path, clients: list[dict], users: list[dict] | None = None, **env: str) -> FakeCognito:
    """Starts the stand-in on a free port; ready when it prints its JSON ready line."""
    log_path = work / "fake-cognito.log"
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOST": "127.0.0.1",
        "PUBLIC_HOST": "localhost",
        "PORT": "0",
        "POOL_ID": POOL_ID,
        "CLIENTS_JSON": json.dumps(clients),
        "USERS_JSON": json.dumps(users or USERS),
        **{k: str(v) for k, v in env.items()},
    }
    log = open(log_path, "wb")
    proc = subprocess.Popen(["node", str(FAKE_DIR / "fake-cognito.mjs")], env=full_env, cwd=work, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            lines.put(raw.decode("utf-8", "replace"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"fake-cognito did not start within {READY_TIMEOUT_S} s:\n{log_path.read_text(errors='replace')}"
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        assert line is not None, f"fake-cognito exited with {proc.wait()}:\n{log_path.read_text(errors='replace')}"
        try:
            ready = json.loads(line)
        except ValueError:
            continue
        if ready.get("ready"):
            return FakeCognito(proc=proc, port=ready["port"], issuer=ready["issuer"], log_path=log_path, clients=clients)


def public_client(client_id: str, origin: str) -> dict:
    return {"client_id": client_id, "redirect_uris": [f"{origin}/callback"], "logout_uris": [f"{origin}/signin"]}


def ferrometa_env(fake: FakeCognito, port: int, client_id: str, **overrides: str) -> dict[str, str]:
    """OpenMetadata's Cognito guide env, pointed at the stand-in and at a fixed ferrometa port."""
    origin = f"http://127.0.0.1:{port}"
    env = {
        "SERVER_PORT": str(port),
        "AUTHORIZER_CLASS_NAME": "org.openmetadata.service.security.DefaultAuthorizer",
        "AUTHORIZER_REQUEST_FILTER": "org.openmetadata.service.security.JwtFilter",
        "AUTHORIZER_ADMIN_PRINCIPALS": "[admin, alice]",
        "AUTHORIZER_PRINCIPAL_DOMAIN": "example.com",
        "AUTHENTICATION_PROVIDER": "aws-cognito",
        "AUTHENTICATION_PUBLIC_KEYS": f"[{fake.jwks_url}, {origin}/api/v1/system/config/jwks]",
        "AUTHENTICATION_AUTHORITY": fake.issuer,
        "AUTHENTICATION_CLIENT_ID": client_id,
        "AUTHENTICATION_CALLBACK_URL": f"{origin}/callback",
    }
    env.update(overrides)
    return env


# --------------------------------------------------------------------------------------------
# The sign-in over plain HTTP (no browser), for the protocol tests
# --------------------------------------------------------------------------------------------


def follow_to_callback(http: requests.Session, server_base: str, username: str = "alice", password: str = PASSWORD) -> str:
    """Starts a sign-in at ferrometa and signs in at the stand-in's form; returns the callback
    URL that the provider redirects to (not followed)."""
    r = http.get(f"{server_base}/login", allow_redirects=False, timeout=HTTP_TIMEOUT_S)
    assert r.status_code == 303, f"/login answered {r.status_code}: {r.text[:300]}"
    url = r.headers["Location"]
    for _ in range(10):
        r = http.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT_S)
        if r.status_code in (302, 303):
            url = urljoin(url, r.headers["Location"])
            continue
        break
    assert r.status_code == 200 and "signInFormUsername" in r.text, f"no login form at {url}: {r.status_code} {r.text[:300]}"
    action = urljoin(url, r.text.split('action="', 1)[1].split('"', 1)[0])
    r = http.post(action, data={"username": username, "password": password, "signInSubmitButton": "Sign in"}, allow_redirects=False, timeout=HTTP_TIMEOUT_S)
    for _ in range(10):
        assert r.status_code in (302, 303), f"sign-in at the provider answered {r.status_code}: {r.text[:300]}"
        location = urljoin(action, r.headers["Location"])
        if urlparse(location).path == "/callback" and urlparse(location).netloc == urlparse(server_base).netloc:
            return location
        r = http.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT_S)
    raise AssertionError("the provider never redirected to the callback")

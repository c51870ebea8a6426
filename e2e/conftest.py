"""Shared fixtures of the end-to-end suites (run by e2e/run.sh).

- ``moto``: a moto server (our stand-in for Amazon Cognito) on a free 127.0.0.1 port.
- ``start_ferrometa``: starts the built ``ferrometa serve`` binary with a clean environment and
  learns its addresses from the JSON log line ``ferrometa is serving``; stops it with SIGTERM.
- ``cognito``: user pools, app clients, users and a group created through boto3 against moto,
  token helpers, and the environment of OpenMetadata's "Amazon Cognito SSO" Docker guide.

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import importlib.resources
import json
import logging
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parent.parent
READY_MESSAGE = "ferrometa is serving"
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 30


# --------------------------------------------------------------------------------------------
# ferrometa processes
# --------------------------------------------------------------------------------------------


def ferrometa_binary() -> Path:
    """``$FERROMETA_BIN`` or the debug build that e2e/run.sh makes."""
    path = Path(os.environ.get("FERROMETA_BIN") or ROOT / "target" / "debug" / "ferrometa")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"ferrometa binary not found at {path}: run `cargo build -p ferrometa` or set FERROMETA_BIN")
    return path


class Ferrometa:
    """A running ``ferrometa serve`` process."""

    def __init__(self, proc: subprocess.Popen, env: dict[str, str], data_dir: Path, log_path: Path):
        self.proc = proc
        self.env = env
        self.data_dir = data_dir
        self.log_path = log_path
        self.base = ""
        self.admin_base = ""
        self.ready_fields: dict[str, Any] = {}
        self.http = requests.Session()
        self.returncode: int | None = None
        self._lines: queue.Queue = queue.Queue()
        self._log_lock = threading.Lock()
        self._drain = threading.Thread(target=self._drain_stderr, name=f"ferrometa-log-{proc.pid}", daemon=True)
        self._drain.start()

    # -- log handling --------------------------------------------------------------------

    def _drain_stderr(self) -> None:
        """Copies every stderr line to the log file and hands it to whoever waits for readiness."""
        assert self.proc.stderr is not None
        with open(self.log_path, "ab") as log:
            for raw in iter(self.proc.stderr.readline, b""):
                with self._log_lock:
                    log.write(raw)
                    log.flush()
                self._lines.put(raw.decode("utf-8", "replace"))
        self._lines.put(None)  # EOF: the process closed stderr (it exited)

    def log_text(self) -> str:
        with self._log_lock:
            return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict]:
        """The JSON log lines (other lines are skipped)."""
        records = []
        for line in self.log_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
        return records

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"ferrometa did not log {READY_MESSAGE!r} within {timeout} s; log:\n{self.log_text()}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait(timeout=STOP_TIMEOUT_S)
                self.returncode = code
                raise AssertionError(f"ferrometa exited with {code} before it was serving; log:\n{self.log_text()}")
            try:
                record = json.loads(line)
            except ValueError:
                continue
            fields = record.get("fields") or {}
            if fields.get("message") == READY_MESSAGE:
                self.ready_fields = fields
                self.base = f"http://{fields['api_addr']}"
                self.admin_base = f"http://{fields['admin_addr']}"
                return

    # -- HTTP helpers ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base + path

    def call(self, method: str, path: str, token: str | None = None, json: Any = None, headers: dict | None = None) -> requests.Response:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url(path), json=json, headers=h, timeout=HTTP_TIMEOUT_S, allow_redirects=False)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return self.call("GET", path, token=token)

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait; returns the exit status (idempotent)."""
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = -9
                raise AssertionError(f"ferrometa did not stop within {timeout} s of SIGTERM; log:\n{self.log_text()}")
            self._drain.join(timeout=timeout)
            self.http.close()
        return self.returncode

    def __repr__(self) -> str:
        return f"<Ferrometa pid={self.proc.pid} {self.base}>"


# Every server started in this session, so that a test can inspect all their logs.
STARTED: list[Ferrometa] = []
_SERVERS_OF_ITEM = pytest.StashKey[list]()


def _launch(tmp_path_factory, servers: list[Ferrometa], env: dict[str, str] | None, data_dir: Path | None) -> Ferrometa:
    """Starts ``ferrometa serve`` with exactly ``env`` plus the test plumbing; appends it to ``servers``."""
    binary = ferrometa_binary()
    work = tmp_path_factory.mktemp("ferrometa")
    data = Path(data_dir) if data_dir is not None else work / "data"
    full_env = {
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_ADMIN_PORT": "0",
        "FERROMETA_DATA_DIR": str(data),
        "FERROMETA_LOG_FORMAT": "json",
        **{k: str(v) for k, v in (env or {}).items()},
    }
    proc = subprocess.Popen(
        [str(binary), "serve"],
        env=full_env,
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Ferrometa(proc, full_env, data, work / "ferrometa.log")
    servers.append(server)
    STARTED.append(server)
    server.wait_ready()
    return server


def _stop_all(servers: list[Ferrometa]) -> None:
    """SIGTERM to every server; each must exit 0."""
    problems = []
    for server in servers:
        try:
            code = server.stop()
        except AssertionError as e:
            problems.append(str(e))
            continue
        if code != 0:
            problems.append(f"{server!r} exited with {code} after SIGTERM (expected 0); log:\n{server.log_text()}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def start_ferrometa(request, tmp_path_factory) -> Callable[..., Ferrometa]:
    """Factory: ``start_ferrometa(env, data_dir=None) -> Ferrometa``.

    The process gets exactly ``env`` plus the test plumbing (loopback host, ports 0, a fresh
    data dir, JSON logs); entries of ``env`` override the plumbing. Pass ``data_dir`` to restart
    on an earlier server's data. Every server is stopped with SIGTERM at teardown and must exit 0.
    """
    servers: list[Ferrometa] = []
    request.node.stash[_SERVERS_OF_ITEM] = servers
    yield lambda env=None, data_dir=None: _launch(tmp_path_factory, servers, env, data_dir)
    _stop_all(servers)


@pytest.fixture(scope="module")
def start_module_ferrometa(request, tmp_path_factory) -> Callable[..., Ferrometa]:
    """Like ``start_ferrometa``, but the servers live for the whole test module (for suites whose
    tests share one server and keep their state apart with unique names); stopped (exit 0) after
    the module's last test. Their logs are attached to the report of every failed test of the module."""
    servers: list[Ferrometa] = []
    request.node.stash[_SERVERS_OF_ITEM] = servers
    yield lambda env=None, data_dir=None: _launch(tmp_path_factory, servers, env, data_dir)
    _stop_all(servers)


@pytest.fixture
def started_ferrometas() -> list[Ferrometa]:
    """Every ferrometa started so far in this session (for checks over all their logs)."""
    return STARTED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the log of every ferrometa started by a failed test to its report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, server in enumerate(item.stash.get(_SERVERS_OF_ITEM, [])):
            report.sections.append((f"ferrometa #{i + 1} log ({server.log_path})", server.log_text()[-20000:]))
        module = item.getparent(pytest.Module)
        for i, server in enumerate(module.stash.get(_SERVERS_OF_ITEM, []) if module is not None else []):
            report.sections.append((f"module ferrometa #{i + 1} log ({server.log_path})", server.log_text()[-20000:]))


# --------------------------------------------------------------------------------------------
# moto (Amazon Cognito stand-in)
# --------------------------------------------------------------------------------------------


@dataclass
class Moto:
    url: str
    server: Any

    def reset(self) -> None:
        r = requests.post(f"{self.url}/moto-api/reset", timeout=HTTP_TIMEOUT_S)
        assert r.status_code == 200, f"moto reset failed: {r.status_code} {r.text[:200]}"


@pytest.fixture(scope="session")
def moto() -> Moto:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    m = Moto(url=f"http://{host}:{port}", server=server)
    # Readiness: the server thread is listening once start() returns; check it answers.
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(f"{m.url}/moto-api/", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "moto server did not answer /moto-api/ within 10 s"
        time.sleep(0.05)
    yield m
    server.stop()


# --------------------------------------------------------------------------------------------
# Cognito user pools, clients, users and tokens (through boto3 against moto)
# --------------------------------------------------------------------------------------------

REGION = "us-east-1"
CALLBACK_URL = "http://localhost:8585/callback"
OWN_JWKS_URL = "http://localhost:8585/api/v1/system/config/jwks"
DEFAULT_AUTHORIZER = "org.openmetadata.service.security.DefaultAuthorizer"
JWT_FILTER = "org.openmetadata.service.security.JwtFilter"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class CognitoUser:
    username: str
    email: str
    email_verified: bool


@dataclass
class Cognito:
    """A moto user pool set up like the guide's, and helpers to get or forge tokens."""

    moto_url: str
    idp: Any
    pool_id: str
    client_id: str
    other_client_id: str
    other_pool_id: str
    other_pool_client_id: str
    password: str
    group: str
    users: dict[str, CognitoUser] = field(default_factory=dict)
    _private_key: Any = None
    _public_pem: bytes = b""

    # -- addresses -------------------------------------------------------------------------

    def issuer(self, pool_id: str | None = None) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id or self.pool_id}"

    def jwks_url(self, pool_id: str | None = None) -> str:
        return f"{self.moto_url}/{pool_id or self.pool_id}/.well-known/jwks.json"

    def guide_env(self, **overrides: str) -> dict[str, str]:
        """The Docker env of OpenMetadata's Cognito guide, pointed at moto."""
        env = {
            "AUTHORIZER_CLASS_NAME": DEFAULT_AUTHORIZER,
            "AUTHORIZER_REQUEST_FILTER": JWT_FILTER,
            "AUTHORIZER_ADMIN_PRINCIPALS": "[admin]",
            "AUTHORIZER_PRINCIPAL_DOMAIN": "open-metadata.org",
            "AUTHENTICATION_PROVIDER": "aws-cognito",
            "AUTHENTICATION_PUBLIC_KEYS": f"[{self.jwks_url()}, {OWN_JWKS_URL}]",
            "AUTHENTICATION_AUTHORITY": self.issuer(),
            "AUTHENTICATION_CLIENT_ID": self.client_id,
            "AUTHENTICATION_CALLBACK_URL": CALLBACK_URL,
        }
        env.update(overrides)
        return env

    # -- real tokens from moto ---------------------------------------------------------------

    def tokens(self, username: str, client_id: str | None = None) -> dict[str, str]:
        """ID, access and refresh tokens of ``username`` via USER_PASSWORD_AUTH."""
        result = self.idp.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": self.password},
        )["AuthenticationResult"]
        return {"id": result["IdToken"], "access": result["AccessToken"], "refresh": result["RefreshToken"]}

    def add_user(self, username: str, email: str, email_verified: bool = True, pool_id: str | None = None) -> CognitoUser:
        """A pool user (the guide's pool unless ``pool_id``) with the session's password; a user
        that exists already is kept as it is (suites add their own users by unique names)."""
        pool = pool_id or self.pool_id
        user = CognitoUser(username, email, email_verified)
        try:
            self.idp.admin_create_user(
                UserPoolId=pool,
                Username=username,
                MessageAction="SUPPRESS",
                TemporaryPassword="TempPassw0rd!",
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true" if email_verified else "false"},
                ],
            )
        except self.idp.exceptions.UsernameExistsException:
            return self.users.get(username, user) if pool == self.pool_id else user
        self.idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=self.password, Permanent=True)
        if pool == self.pool_id:
            self.users[username] = user
        return user

    def id_token(self, username: str, client_id: str | None = None) -> str:
        return self.tokens(username, client_id)["id"]

    def access_token(self, username: str, client_id: str | None = None) -> str:
        return self.tokens(username, client_id)["access"]

    def refresh(self, refresh_token: str, client_id: str | None = None) -> dict[str, str]:
        result = self.idp.initiate_auth(
            ClientId=client_id or self.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
        )["AuthenticationResult"]
        return {"id": result["IdToken"], "access": result["AccessToken"]}

    @staticmethod
    def claims(token: str) -> dict:
        return jwt.decode(token, options={"verify_signature": False})

    # -- forged tokens (moto's private key ships in the package) ---------------------------

    def mint(self, claims: dict, headers: dict | None = None) -> str:
        """An RS256 token signed with moto's key (kid ``dummy``): it verifies against moto's JWKS."""
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": "dummy", **(headers or {})})

    def id_claims(self, username: str = "alice", **changes: Any) -> dict:
        """The claims of a fresh moto ID token of ``username`` with new times; ``changes`` set
        claims, or drop them when the value is None. Re-signed with :meth:`mint`."""
        now = int(time.time())
        claims = self.claims(self.id_token(username))
        claims.update({"iat": now, "auth_time": now, "exp": now + 3600, "jti": secrets.token_hex(16)})
        for k, v in changes.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return claims

    @staticmethod
    def with_payload(token: str, claims: dict) -> str:
        """``token`` with its payload replaced and its (now wrong) signature kept."""
        header, _, signature = token.split(".")
        return f"{header}.{b64url_json(claims)}.{signature}"

    def unsigned(self, claims: dict, alg: str = "none") -> str:
        """``alg: none`` token with an empty signature."""
        return f"{b64url_json({'alg': alg, 'typ': 'JWT', 'kid': 'dummy'})}.{b64url_json(claims)}."

    def hs256_with_public_key(self, claims: dict) -> str:
        """RS256→HS256 key confusion: HMAC-SHA256 keyed with moto's public key (PEM)."""
        signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': 'dummy'})}.{b64url_json(claims)}"
        mac = hmac.new(self._public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"


def _moto_private_key():
    raw = (importlib.resources.files("moto.cognitoidp") / "resources/jwks-private.json.gz").read_bytes()
    jwk = json.loads(gzip.decompress(raw))
    if "keys" in jwk:
        jwk = jwk["keys"][0]
    return RSAAlgorithm.from_jwk(json.dumps(jwk))


@pytest.fixture(scope="session")
def cognito(moto: Moto) -> Cognito:
    """Pools, clients, users (admin, alice, mallory, eve) and a group, made through boto3 on moto."""
    from cryptography.hazmat.primitives import serialization

    moto.reset()
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    schema = [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}]

    def make_client(pool_id: str, name: str) -> str:
        return idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=name,
            GenerateSecret=False,
            ReadAttributes=["email", "email_verified", "name"],
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
            AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=["openid", "email", "profile"],
            AllowedOAuthFlowsUserPoolClient=True,
            CallbackURLs=[CALLBACK_URL],
            SupportedIdentityProviders=["COGNITO"],
        )["UserPoolClient"]["ClientId"]

    pool_id = idp.create_user_pool(PoolName="openmetadata", AutoVerifiedAttributes=["email"], Schema=schema)["UserPool"]["Id"]
    client_id = make_client(pool_id, "openmetadata")
    other_client_id = make_client(pool_id, "another-app")
    other_pool_id = idp.create_user_pool(PoolName="another-pool", AutoVerifiedAttributes=["email"], Schema=schema)["UserPool"]["Id"]
    other_pool_client_id = make_client(other_pool_id, "openmetadata")

    password = f"Pw-{secrets.token_urlsafe(12)}-9aZ!"
    private_key = _moto_private_key()
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    c = Cognito(
        moto_url=moto.url,
        idp=idp,
        pool_id=pool_id,
        client_id=client_id,
        other_client_id=other_client_id,
        other_pool_id=other_pool_id,
        other_pool_client_id=other_pool_client_id,
        password=password,
        group="data-stewards",
        _private_key=private_key,
        _public_pem=public_pem,
    )
    for username, email, verified in [
        ("admin", "admin@open-metadata.org", True),
        ("alice", "alice@open-metadata.org", True),
        ("mallory", "mallory@other.org", True),
        ("eve", "eve@open-metadata.org", False),
    ]:
        c.add_user(username, email, verified)
    c.add_user("alice", "alice@open-metadata.org", True, pool_id=other_pool_id)
    idp.create_group(GroupName=c.group, UserPoolId=pool_id, Description="Stewards of the catalog")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName=c.group)

    # The key moto signs with is the one in the package: a minted token must verify against the JWKS.
    jwks = requests.get(c.jwks_url(), timeout=HTTP_TIMEOUT_S).json()
    probe = c.mint(c.id_claims())
    jwt.decode(probe, jwt.PyJWK(jwks["keys"][0]).key, algorithms=["RS256"], audience=client_id, issuer=c.issuer())
    return c


# --------------------------------------------------------------------------------------------
# The official OpenMetadata Python client (openmetadata-ingestion 1.6.13.2 in e2e/.venv-om)
# --------------------------------------------------------------------------------------------

OM_CLIENT_VERSION = "1.6.13.2"
OM_VENV = Path(__file__).resolve().parent / ".venv-om"
# The 2.0 client (openmetadata-ingestion 2.0.7.0 in e2e/.venv-om2); the server must then report 2.0.
OM2_CLIENT_VERSION = "2.0.7.0"
OM2_VENV = Path(__file__).resolve().parent / ".venv-om2"
INGEST_TIMEOUT_S = 300


@dataclass
class OmClient:
    """The ``metadata`` CLI and Python of the client's own venv (installed by e2e/run.sh)."""

    venv: Path
    home: Path
    # What the server's /api/v1/system/version must report for this client (`FERROMETA_OM_VERSION`).
    server_version: str = "1.6.13"

    def env(self) -> dict[str, str]:
        # A clean environment: no proxies, a private HOME, only loopback traffic.
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.home), "NO_PROXY": "*", "PYTHONWARNINGS": "ignore"}

    def run(self, args: list[str], cwd: Path, timeout: float = INGEST_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=cwd, env=self.env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def ingest(self, workflow_yaml: Path) -> subprocess.CompletedProcess:
        """``metadata ingest -c <workflow>``."""
        return self.workflow("ingest", workflow_yaml)

    def workflow(self, command: str, workflow_yaml: Path) -> subprocess.CompletedProcess:
        """``metadata <command> -c <workflow>`` (``ingest``, ``profile``, ``test``, ``usage``, ...)."""
        return self.run([str(self.venv / "bin" / "metadata"), command, "-c", str(workflow_yaml)], cwd=workflow_yaml.parent)

    def python(self, script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return self.run([str(self.venv / "bin" / "python"), str(script), *args], cwd=cwd)


def installed_client(venv: Path, version: str, server_version: str, home: Path) -> OmClient:
    """The client of a venv, which must hold openmetadata-ingestion ``version``."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "metadata").exists():
        pytest.fail(f"{venv} has no `metadata` CLI: run e2e/run.sh, which installs openmetadata-ingestion=={version}")
    probe = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version; print(version('openmetadata-ingestion'))"], capture_output=True, text=True, timeout=60
    )
    assert probe.stdout.strip() == version, f"{venv} holds openmetadata-ingestion {probe.stdout.strip()!r}{probe.stderr[-500:]}"
    return OmClient(venv=venv, home=home, server_version=server_version)


@pytest.fixture(scope="session")
def om_client(tmp_path_factory) -> OmClient:
    """The unmodified ``openmetadata-ingestion`` 1.6 client; fails when e2e/run.sh did not install it."""
    return installed_client(OM_VENV, OM_CLIENT_VERSION, "1.6.13", tmp_path_factory.mktemp("om-home"))


@pytest.fixture(scope="session")
def om2_client(tmp_path_factory) -> OmClient:
    """The unmodified ``openmetadata-ingestion`` 2.0 client, for a server reporting 2.0.7."""
    return installed_client(OM2_VENV, OM2_CLIENT_VERSION, "2.0.7", tmp_path_factory.mktemp("om2-home"))


# --------------------------------------------------------------------------------------------
# PostgreSQL databases and an nginx load balancer (several replicas of one database)
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_database() -> Callable[[], str]:
    """Factory: a fresh database in the suite's PostgreSQL (``FERROMETA_TEST_POSTGRES_URL``, set by
    scripts/test.sh); returns its URL. Like the Rust suites' databases, it goes with the throwaway
    cluster (a DROP DATABASE waits for a checkpoint, which on a busy machine takes a minute)."""
    admin_url = os.environ.get("FERROMETA_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.fail("FERROMETA_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL and sets it")

    def create() -> str:
        name = f"ferrometa_e2e_{secrets.token_hex(6)}"
        sql = f"CREATE DATABASE {name}"
        subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True, timeout=120)
        return admin_url.rsplit("/", 1)[0] + "/" + name

    return create


@dataclass
class Nginx:
    """Debian's nginx, round-robin over ``upstreams``; each answer names the replica that served it
    in ``X-Upstream`` (the last address nginx tried)."""

    base: str
    proc: subprocess.Popen
    prefix: Path

    @staticmethod
    def served_by(response: requests.Response) -> str:
        return response.headers.get("X-Upstream", "").split(",")[-1].strip()

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            self.proc.wait(timeout=STOP_TIMEOUT_S)


NGINX_CONF = """
{user}
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # Round robin; one upstream connection per request (no keepalive pool), so a replica that
    # stops accepting is skipped: nginx passes the request to the next one ("error timeout").
    upstream ferrometa {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /nginx-ready {{ return 200 "ready"; }}
        location / {{
            proxy_pass http://ferrometa;
            proxy_next_upstream error timeout;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@pytest.fixture
def nginx(tmp_path_factory) -> Callable[[list[str]], Nginx]:
    """Factory: ``nginx(["127.0.0.1:port", ...]) -> Nginx`` in front of those replicas (Debian's
    nginx, installed by e2e/run.sh); stopped at teardown."""
    started: list[Nginx] = []

    def start(upstreams: list[str]) -> Nginx:
        prefix = tmp_path_factory.mktemp("nginx")
        port = free_port()
        servers = "\n".join(f"        server {u};" for u in upstreams)
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(NGINX_CONF.format(user=user, prefix=prefix, servers=servers, port=port))
        proc = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        lb = Nginx(base=f"http://127.0.0.1:{port}", proc=proc, prefix=prefix)
        started.append(lb)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"nginx exited: {proc.stderr.read().decode(errors='replace') if proc.stderr else ''}{lb.error_log()}"
            try:
                if requests.get(f"{lb.base}/nginx-ready", timeout=2).status_code == 200:
                    return lb
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"nginx did not answer within {READY_TIMEOUT_S} s: {lb.error_log()}"
            time.sleep(0.05)

    yield start
    for lb in started:
        lb.stop()

"""Issue 6: browser sign-in through a Cognito-shaped Hosted UI, sessions, logout and the web UI.

Real parts only: the built ``ferrometa serve`` binary, the Cognito stand-in
(``fake-cognito/fake-cognito.mjs``: oidc-provider + express, renamed to Cognito's endpoints) and
Debian's Chromium driven by Playwright. Each test gets its own stand-in and server (fresh data).
Screenshots of every page go to ``e2e/artifacts/<test>/``.
"""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from fakecognito import PASSWORD, POOL_ID, FakeCognito, ferrometa_env, follow_to_callback, free_port, public_client, start_fake_cognito

if TYPE_CHECKING:
    from conftest import Ferrometa

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ADMIN_PASSWORD = "Adm1n-Passw0rd!"
CLIENT_ID = "om-public-client"
INVALID_CREDENTIALS = "You have entered an invalid username or password."
LOCKED_OUT = "Failed Login Attempts Exceeded. Use Forgot Password or retry after some time."
# Page actions and assertions share one bound: a sign-out is six hops across two servers and a
# browser, which on a loaded 2-core runner can take longer than Playwright's 5 s default.
BROWSER_TIMEOUT_MS = 15_000
expect.set_options(timeout=BROWSER_TIMEOUT_MS)


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Shots:
    """Numbered screenshots of every page a test visits."""

    def __init__(self, page: Page, name: str):
        self.page = page
        self.dir = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, label: str, page: Page | None = None) -> Path:
        """Screenshot of the test's page, or of ``page`` (another browser of the same test)."""
        self.n += 1
        path = self.dir / f"{self.n:02d}-{label}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    pg = context.new_page()
    pg.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield pg
    context.close()


@pytest.fixture
def shots(page, request) -> Shots:
    return Shots(page, request.node.name)


@pytest.fixture
def fakes(tmp_path):
    started: list[FakeCognito] = []

    def start(clients, **env) -> FakeCognito:
        f = start_fake_cognito(tmp_path, clients, **env)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


@pytest.fixture
def sso(start_ferrometa, fakes):
    """``sso(fake_env=None, env=None, client=None) -> (server, fake, origin)``: a stand-in whose
    app client is registered for a fixed ferrometa port, and ferrometa configured like the guide."""

    def make(fake_env: dict | None = None, env: dict | None = None, client=None):
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        client = client(origin) if callable(client) else (client or public_client(CLIENT_ID, origin))
        fake = fakes([client], **(fake_env or {}))
        server = start_ferrometa(ferrometa_env(fake, port, client["client_id"], **(env or {})))
        assert server.base == origin, f"ferrometa listens on {server.base}, expected {origin}"
        return server, fake, origin

    return make


def sign_in_at_provider(page: Page, username: str = "alice", password: str = PASSWORD) -> None:
    expect(page.locator("#signInFormUsername")).to_be_visible()
    page.fill("#signInFormUsername", username)
    page.fill("#signInFormPassword", password)
    page.click("#signInSubmit")


SEED_CATALOG = """async (csrf) => {
    const put = async (path, body) => {
        const r = await fetch(path, {method: 'PUT', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: JSON.stringify(body)});
        if (r.status >= 300) throw new Error(path + ' ' + r.status + ' ' + await r.text());
        return r.json();
    };
    await put('/api/v1/services/databaseServices', {name: 'warehouse', serviceType: 'Mysql', description: 'The analytics warehouse'});
    await put('/api/v1/databases', {name: 'sales', service: 'warehouse'});
    await put('/api/v1/databaseSchemas', {name: 'public', database: 'warehouse.sales'});
    return put('/api/v1/tables', {name: 'orders', databaseSchema: 'warehouse.sales.public',
        columns: [{name: 'id', dataType: 'BIGINT', description: 'Order id'}, {name: 'amount', dataType: 'DECIMAL', dataTypeDisplay: 'decimal(10,2)'}]});
}"""


def seed_catalog(page: Page) -> dict:
    """Creates service → database → schema → table through the API with the session cookie."""
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    return page.evaluate(SEED_CATALOG, csrf)


def session_cookies(page: Page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] in ("fm_session", "__Host-fm_session")]


# --------------------------------------------------------------------------------------------
# the vertical slice: Hosted UI sign-in, home, pages, sign-out ends the Cognito session
# --------------------------------------------------------------------------------------------


def test_sign_in_home_pages_and_sign_out_end_the_cognito_session(sso, page: Page, shots: Shots):
    server, fake, origin = sso()
    page.goto(f"{origin}/")
    expect(page).to_have_url(f"{origin}/signin")
    expect(page.locator("#signin")).to_have_text("Sign in with Amazon Cognito")
    shots("signin")
    page.click("#signin")
    expect(page.locator("#signInFormUsername")).to_be_visible()
    assert urlparse(page.url).netloc == f"localhost:{fake.port}", f"not at the provider: {page.url}"
    shots("cognito-hosted-ui")
    sign_in_at_provider(page)
    expect(page).to_have_url(f"{origin}/")
    expect(page.locator("#user-name")).to_have_text("Alice Example")
    shots("home")

    # The browser holds only an opaque HttpOnly cookie: no token anywhere in its cookies.
    cookies = session_cookies(page)
    assert len(cookies) == 1, page.context.cookies()
    c = cookies[0]
    assert (c["httpOnly"], c["sameSite"], c["path"]) == (True, "Lax", "/"), c
    assert len(c["value"]) <= 128 and not c["value"].startswith("eyJ")
    assert all("eyJ" not in x["value"] for x in page.context.cookies()), "a JWT reached a browser cookie"
    # The same cookie authenticates the API (the browser's fetch sends it).
    me = page.evaluate("fetch('/api/v1/users/loggedInUser').then(r => r.json())")
    assert (me["name"], me["isAdmin"]) == ("alice", True), me

    # The catalog: service → database → schema → table, and the table's description edited.
    seed_catalog(page)
    page.goto(f"{origin}/catalog")
    shots("catalog")
    page.click("#service-list >> text=warehouse")
    expect(page.locator("#entity-name")).to_have_text("warehouse")
    page.click("#child-list >> text=sales")
    page.click("#child-list >> text=public")
    expect(page.locator("h1")).to_have_text("Schema: public")
    page.click("#child-list >> text=orders")
    expect(page.locator("h1")).to_have_text("Table: orders")
    expect(page.locator("#column-list")).to_contain_text("decimal(10,2)")
    page.fill("#description-input", "Orders placed in the web shop, one row per order.")
    page.click("#save-description")
    expect(page.locator("#description-saved")).to_have_text("Description saved.")
    expect(page.locator("#description")).to_have_text("Orders placed in the web shop, one row per order.")
    shots("table")
    table = page.evaluate("fetch('/api/v1/tables/name/warehouse.sales.public.orders').then(r => r.json())")
    assert table["description"] == "Orders placed in the web shop, one row per order.", table
    assert table["version"] > 0.1, "the description change made a new version"
    page.goto(f"{origin}/search?q=orders")
    expect(page.locator("#results")).to_contain_text("warehouse.sales.public.orders")

    for path, heading, label in [("/profile", "My profile", "profile"), ("/users", "Users", "users"), ("/bots", "Bots", "bots"), ("/security", "Security checklist", "security-checklist")]:
        page.goto(f"{origin}{path}")
        expect(page.locator("h1")).to_have_text(heading)
        shots(label)
    page.goto(f"{origin}/search?q=bot")
    expect(page.locator("#results")).to_contain_text("ingestion-bot")
    shots("search")

    # Security headers on every page.
    r = requests.get(f"{origin}/signin", timeout=30)
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, csp
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"

    page.goto(f"{origin}/")
    page.click("#signout")
    expect(page).to_have_url(f"{origin}/signin")
    expect(page.locator("#signed-out-notice")).to_have_text("You have signed out.")
    shots("signed-out")
    stats = fake.stats()
    assert stats["revoke"] == 1, f"the refresh token was not revoked at the provider: {stats}"
    assert stats["logout"] == 1, f"the browser did not go through Cognito's /logout: {stats}"
    assert session_cookies(page) == [], "the session cookie survived logout"

    # The Cognito session ended too: signing in again shows the provider's form.
    page.click("#signin")
    expect(page.locator("#signInFormUsername")).to_be_visible()
    shots("cognito-asks-again")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_have_text("Alice Example")

    log = server.log_text()
    assert "eyJ" not in log, "a JWT reached the server log"
    assert PASSWORD not in log
    session_id = session_cookies(page)[0]["value"]
    assert session_id not in log, "a session id reached the server log"


def test_a_session_survives_a_restart_and_sign_out_still_ends_the_cognito_session(sso, start_ferrometa, page: Page):
    server, fake, origin = sso()
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_have_text("Alice Example")
    assert server.stop() == 0
    again = start_ferrometa(server.env, data_dir=server.data_dir)  # same port, same database
    assert again.base == origin
    page.reload()
    expect(page.locator("#user-name")).to_have_text("Alice Example")
    page.click("#signout")
    expect(page.locator("#signed-out-notice")).to_be_visible()
    stats = fake.stats()
    assert (stats["logout"], stats["revoke"]) == (1, 1), stats
    page.click("#signin")
    expect(page.locator("#signInFormUsername")).to_be_visible()


def test_wrong_password_at_the_provider_then_the_right_one(sso, page: Page, shots: Shots):
    server, fake, origin = sso()
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page, password="Wrong-passw0rd!")
    expect(page.locator("#loginErrorMessage")).to_have_text("Incorrect username or password.")
    assert urlparse(page.url).netloc == f"localhost:{fake.port}", "a wrong password must keep the user at the provider"
    shots("cognito-wrong-password")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_have_text("Alice Example")


def test_access_denied_shows_the_error_page_and_no_redirect_loop(sso, page: Page, shots: Shots):
    server, fake, origin = sso()
    authorize_requests = []
    page.on("request", lambda r: authorize_requests.append(r.url) if "/oauth2/authorize" in r.url and "login" not in r.url else None)
    page.goto(f"{origin}/signin")
    page.click("#signin")
    expect(page.locator("#signInCancel")).to_be_visible()
    page.click("#signInCancel")
    expect(page.locator("#error-code")).to_have_text("idp_error")
    expect(page.locator(".notice.error")).to_contain_text("access denied")
    assert urlparse(page.url).path == "/callback", page.url
    assert re.fullmatch(r"[0-9a-f-]{36}", page.locator("#error-reference").inner_text())
    shots("error-access-denied")
    page.wait_for_load_state("networkidle")
    assert urlparse(page.url).path == "/callback", f"the error page moved on by itself to {page.url}"
    assert fake.stats()["authorize"] == 1, f"the error page sent the browser back to the provider: {fake.stats()}"
    reference = page.locator("#error-reference").inner_text()
    assert reference in server.log_text(), "the reference id shown is not in the server log"


# --------------------------------------------------------------------------------------------
# protocol attacks, over plain HTTP: tampered state, replay, missing verifier or browser binding
# --------------------------------------------------------------------------------------------


def with_query(url: str, **changes: str) -> str:
    u = urlparse(url)
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    q.update(changes)
    return urlunparse(u._replace(query=urlencode(q)))


def refused(r: requests.Response, code: str, what: str) -> None:
    assert r.status_code in (400, 403), f"{what}: expected a refusal, got {r.status_code}"
    assert "Location" not in r.headers, f"{what}: a failed callback must not redirect (to {r.headers.get('Location')})"
    assert f'id="error-code">{code}<' in r.text, f"{what}: error page without code {code}: {r.text[:500]}"
    assert not any(c.name.endswith("fm_session") and c.value for c in r.cookies), f"{what}: a session was created"


def test_tampered_state_and_replayed_callback_are_refused(sso):
    server, fake, origin = sso()
    http = requests.Session()
    callback = follow_to_callback(http, origin)
    before = fake.stats()["token"]["total"]
    refused(http.get(with_query(callback, state="A" * 43), allow_redirects=False, timeout=30), "invalid_state", "tampered state")
    refused(http.get(with_query(callback, state=""), allow_redirects=False, timeout=30), "invalid_state", "empty state")
    assert fake.stats()["token"]["total"] == before, "a callback with a wrong state reached the token endpoint"

    ok = http.get(callback, allow_redirects=False, timeout=30)
    assert ok.status_code == 303 and ok.headers["Location"] == "/", f"the genuine callback failed: {ok.status_code} {ok.text[:300]}"
    assert http.get(f"{origin}/api/v1/users/loggedInUser", timeout=30).json()["name"] == "alice"

    refused(http.get(callback, allow_redirects=False, timeout=30), "invalid_state", "replayed callback")
    other = requests.Session()
    refused(other.get(callback, allow_redirects=False, timeout=30), "invalid_state", "callback replayed from another browser")


def test_missing_pkce_verifier_or_browser_binding_is_refused(sso):
    server, fake, origin = sso()
    http = requests.Session()
    callback = follow_to_callback(http, origin)
    code = parse_qs(urlparse(callback).query)["code"][0]
    # The code alone is useless: the provider requires the PKCE verifier that only the server holds.
    r = requests.post(
        f"http://127.0.0.1:{fake.port}/{POOL_ID}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": f"{origin}/callback", "client_id": CLIENT_ID},
        timeout=30,
    )
    assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request"), r.text
    # A browser without the flow cookie (the verifier's binding) cannot finish the sign-in.
    stranger = requests.Session()
    refused(stranger.get(callback, allow_redirects=False, timeout=30), "invalid_state", "callback without the flow cookie")
    # The flow is single use: the real browser's later attempt fails too, without a redirect.
    refused(http.get(callback, allow_redirects=False, timeout=30), "invalid_state", "callback after a refused attempt")


def test_flow_and_session_cookies_are_http_only_and_lax(sso):
    server, fake, origin = sso()
    r = requests.get(f"{origin}/login", allow_redirects=False, timeout=30)
    assert r.status_code == 303
    location = r.headers["Location"]
    q = parse_qs(urlparse(location).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert len(q["state"][0]) >= 43 and len(q["nonce"][0]) >= 43, "state and nonce carry at least 256 bits"
    assert q["redirect_uri"] == [f"{origin}/callback"] and q["client_id"] == [CLIENT_ID]
    # redirect_uri comes from configuration, never from the request's Host header.
    spoofed = requests.get(f"{origin}/login", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}, allow_redirects=False, timeout=30)
    assert parse_qs(urlparse(spoofed.headers["Location"]).query)["redirect_uri"] == [f"{origin}/callback"]
    flow_cookie = r.headers["Set-Cookie"]
    assert flow_cookie.startswith("fm_flow=") and "HttpOnly" in flow_cookie and "SameSite=Lax" in flow_cookie and "Max-Age=600" in flow_cookie, flow_cookie


# --------------------------------------------------------------------------------------------
# sessions: back button after logout, refresh once near expiry, CSRF on cookie writes
# --------------------------------------------------------------------------------------------


def test_back_button_after_logout_does_not_resume(sso, page: Page, shots: Shots):
    server, fake, origin = sso()
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_have_text("Alice Example")
    page.goto(f"{origin}/profile")
    expect(page.locator("#profile-name")).to_have_text("Alice Example")
    page.click("#signout")
    expect(page.locator("#signed-out-notice")).to_be_visible()
    for _ in range(3):
        page.go_back()
        page.wait_for_load_state()
        assert page.locator("#profile-name").count() == 0 and page.locator("#user-name").count() == 0, f"a signed-in page came back at {page.url}"
    shots("back-after-logout")
    page.goto(f"{origin}/profile")
    expect(page).to_have_url(re.compile(re.escape(f"{origin}/signin")))


def test_session_refresh_happens_once_near_expiry(sso):
    # The first ID token lives 30 s, inside the 60 s refresh margin; refreshed ones live an hour.
    server, fake, origin = sso(fake_env={"ID_TOKEN_TTL": "30", "REFRESHED_ID_TOKEN_TTL": "3600"})
    http = requests.Session()
    callback = follow_to_callback(http, origin)
    assert http.get(callback, allow_redirects=False, timeout=30).status_code == 303
    assert fake.stats()["token"] == {"total": 1, "authorization_code": 1, "refresh_token": 0, "errors": 0}
    cookie = {k: v for k, v in http.cookies.items() if k == "fm_session"}

    def me(_):
        return requests.get(f"{origin}/api/v1/users/loggedInUser", cookies=cookie, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(me, range(12)))
    assert [a.status_code for a in answers] == [200] * 12, [a.text[:200] for a in answers]
    assert fake.stats()["token"]["refresh_token"] == 1, f"expected exactly one refresh for 12 concurrent requests: {fake.stats()}"
    for _ in range(3):
        assert me(0).status_code == 200
    assert fake.stats()["token"]["refresh_token"] == 1, "the refreshed token was refreshed again"


def test_cookie_writes_need_the_csrf_token_and_bearer_writes_do_not(sso, page: Page):
    server, fake, origin = sso()
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_be_visible()
    create = """async (csrf) => {
        const headers = {'Content-Type': 'application/json'};
        if (csrf) headers['X-CSRF-Token'] = csrf;
        const r = await fetch('/api/v1/users/security/token', {method: 'PUT', headers, body: JSON.stringify({tokenName: 'cli', JWTTokenExpiry: '7'})});
        return [r.status, await r.json()];
    }"""
    status, body = page.evaluate(create, None)
    assert (status, body["code"]) == (403, 403), body
    assert "CSRF" in body["message"]
    status, body = page.evaluate(create, "not-the-token")
    assert status == 403, body
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    status, body = page.evaluate(create, csrf)
    assert status == 200 and body["jwtToken"].startswith("eyJ"), body
    # The personal access token works as a bearer, with no CSRF token (not a cookie request).
    pat = body["jwtToken"]
    r = requests.put(f"{origin}/api/v1/users/security/token", headers={"Authorization": f"Bearer {pat}"}, json={"tokenName": "again", "JWTTokenExpiry": "1"}, timeout=30)
    assert r.status_code in (200, 401, 403) and r.status_code != 500


# --------------------------------------------------------------------------------------------
# the admin pages: bots, personal access tokens, users, security checklist
# --------------------------------------------------------------------------------------------


def test_admin_pages_bot_token_pat_and_removing_the_default_admin(sso, page: Page, shots: Shots):
    server, fake, origin = sso()
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page)
    expect(page.locator("#user-name")).to_be_visible()

    page.goto(f"{origin}/security")
    expect(page.locator("#check-default-admin .badge")).to_have_text("Check")
    expect(page.locator("#check-discovery .badge")).to_have_text("OK")
    expect(page.locator("#check-own-jwks .badge")).to_have_text("OK")
    expect(page.locator("#check-jwks-reachable .badge")).to_have_text("OK")

    page.goto(f"{origin}/bots")
    page.select_option("#expiry-ingestion-bot", "7")
    page.click("#bot-ingestion-bot button.generate")
    token = page.locator("#new-bot-token").input_value()
    assert token.startswith("eyJ")
    expect(page.locator("#bot-ingestion-bot .token-status")).to_contain_text("expires")
    shots("bot-token-shown-once")
    assert requests.get(f"{origin}/api/v1/system/version", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    assert requests.get(f"{origin}/api/v1/users/loggedInUser", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    page.goto(f"{origin}/bots")
    assert page.locator("#new-bot-token").count() == 0, "a bot token was shown twice"
    page.once("dialog", lambda d: d.accept())
    page.click("#bot-ingestion-bot button.revoke")
    expect(page.locator("#bots-message")).to_contain_text("revoked")
    assert requests.get(f"{origin}/api/v1/users/loggedInUser", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 401

    page.goto(f"{origin}/profile")
    page.fill("#token-name", "my laptop")
    page.select_option("#pat-expiry", "1")
    page.click("#create-pat")
    pat = page.locator("#new-pat-token").input_value()
    shots("pat-shown-once")
    me = requests.get(f"{origin}/api/v1/users/loggedInUser", headers={"Authorization": f"Bearer {pat}"}, timeout=30)
    assert me.status_code == 200 and me.json()["name"] == "alice"
    page.goto(f"{origin}/profile")
    expect(page.locator("#pat-list")).to_contain_text("my laptop")
    page.click("#pat-list button.danger")
    expect(page.locator("#pat-message")).to_have_text("The token is revoked.")
    assert requests.get(f"{origin}/api/v1/users/loggedInUser", headers={"Authorization": f"Bearer {pat}"}, timeout=30).status_code == 401

    page.goto(f"{origin}/users")
    expect(page.locator("#user-admin")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.click("#user-admin button.danger")
    expect(page).to_have_url(f"{origin}/users")
    expect(page.locator("#user-admin")).to_have_count(0)
    shots("users-after-deleting-default-admin")
    page.goto(f"{origin}/security")
    expect(page.locator("#check-default-admin .badge")).to_have_text("OK")
    shots("security-checklist-after")


# --------------------------------------------------------------------------------------------
# roles and policies (issue 14): an admin grants a rule through a role, the user sees it
# --------------------------------------------------------------------------------------------

POLICY = "LineageEditors"
RULE = "EditLineageOfOwnTables"
ROLE = "LineageEditor"

# A page form posted by script, as a tampered page would post it: the answer's status.
POST_FORM = """async ([path, csrf]) => {
    const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=' + encodeURIComponent(csrf), redirect: 'manual'});
    return r.status;
}"""


def sign_in(page: Page, origin: str, username: str) -> None:
    page.goto(f"{origin}/signin")
    page.click("#signin")
    sign_in_at_provider(page, username)
    expect(page.locator("#user-name")).to_be_visible()


def fill_rule(page: Page, name: str, effect: str, operation: str, resource: str, condition: str) -> None:
    page.fill("#rule-name", name)
    page.select_option("#rule-effect", effect)
    page.check(f"#rule-operations input[value={operation}]")
    page.check(f"#rule-resources input[value={resource}]")
    page.fill("#rule-condition", condition)


def test_an_admin_grants_a_rule_through_a_role_and_the_user_sees_it(sso, browser, page: Page, shots: Shots):
    server, fake, origin = sso()
    # Bob (no admin) signs in first in his own browser, so that his user exists.
    bob_context = browser.new_context(viewport={"width": 1180, "height": 760})
    bob = bob_context.new_page()
    bob.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        sign_in(bob, origin, "bob")
        expect(bob.locator("#user-name")).to_have_text("Bob Builder")
        expect(bob.locator("nav[aria-label=Main] a[href='/policies']")).to_have_count(1)
        expect(bob.locator("nav[aria-label=Main] a[href='/security']")).to_have_count(0)

        # Alice (an admin principal) creates a policy: a condition that does not parse, one naming
        # an unknown function, then a good one.
        sign_in(page, origin, "alice")
        expect(page.locator("nav[aria-label=Main] a[href='/security']")).to_have_count(1)
        page.click("nav[aria-label=Main] >> text=Policies")
        expect(page.locator("#policies")).to_contain_text("OrganizationPolicy")
        page.fill("#policy-name", POLICY)
        page.fill("#policy-description", "Lineage of the tables one owns, or that nobody owns.")
        fill_rule(page, RULE, "allow", "EditLineage", "table", "isOwner(")
        page.click("#create-policy")
        expect(page.locator("#policy-error")).to_contain_text("Failed to parse - ")
        expect(page.locator("#policy-name")).to_have_value(POLICY)
        expect(page.locator("#rule-name")).to_have_value(RULE)
        expect(page.locator("#rule-condition")).to_have_value("isOwner(")
        expect(page.locator("#rule-condition")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#rule-operations input[value=EditLineage]")).to_be_checked()
        expect(page.locator("#rule-resources input[value=table]")).to_be_checked()
        shots("policy-condition-refused")
        page.fill("#rule-condition", "isOwnr()")
        page.click("#create-policy")
        expect(page.locator("#policy-error")).to_contain_text("Failed to evaluate - ")
        expect(page.locator("#rule-condition")).to_have_value("isOwnr()")
        page.fill("#rule-condition", "isOwner() || noOwner()")
        page.click("#create-policy")
        expect(page).to_have_url(f"{origin}/policies/{POLICY}")
        rule = page.locator(f"#rules tr[data-rule={RULE}]")
        expect(rule).to_contain_text("EditLineage")
        expect(rule).to_contain_text("isOwner() || noOwner()")

        # A second rule: added, edited (a condition naming a tag that does not exist is refused
        # and kept), removed.
        fill_rule(page, "DenyDeletes", "deny", "Delete", "table", "")
        page.click("#save-rule")
        denial = page.locator("#rules tr[data-rule=DenyDeletes]")
        expect(denial).to_contain_text("deny")
        denial.locator("a:has-text('Edit')").click()
        expect(page.locator("#rule-form-heading")).to_have_text("Edit the rule DenyDeletes")
        expect(page.locator("#rule-operations input[value=Delete]")).to_be_checked()
        page.fill("#rule-condition", "matchAnyTag('NoSuch.Tag')")
        page.click("#save-rule")
        expect(page.locator("#rule-error")).to_have_text("Failed to evaluate - tag instance for NoSuch.Tag not found")
        expect(page.locator("#rule-name")).to_have_value("DenyDeletes")
        expect(page.locator("#rule-condition")).to_have_value("matchAnyTag('NoSuch.Tag')")
        page.fill("#rule-condition", "!isOwner()")
        page.click("#save-rule")
        expect(denial).to_contain_text("!isOwner()")
        expect(page.locator("#rule-form-heading")).to_have_text("Add a rule")
        shots("policy")
        page.once("dialog", lambda d: d.accept())
        denial.locator("button.danger").click()
        expect(denial).to_have_count(0)
        stored = page.evaluate(f"fetch('/api/v1/policies/name/{POLICY}?fields=*').then(r => r.json())")
        assert [r["name"] for r in stored["rules"]] == [RULE], stored
        assert stored["rules"][0]["condition"] == "isOwner() || noOwner()" and stored["rules"][0]["resources"] == ["table"], stored

        # A role granting the policy.
        page.click("nav[aria-label=Main] >> text=Roles")
        page.fill("#role-name", ROLE)
        page.fill("#role-description", "Edits lineage.")
        page.check(f"#role-policies label:has-text('{POLICY}') input")
        page.click("#create-role")
        expect(page).to_have_url(f"{origin}/roles/{ROLE}")
        expect(page.locator("#role-policies-list")).to_have_text(POLICY)
        shots("role")

        # Bob gets the role on his user page.
        page.click("nav[aria-label=Main] >> text=Users")
        page.click("#user-bob a")
        expect(page).to_have_url(f"{origin}/users/bob")
        page.check(f"#user-roles label:has-text('{ROLE}') input")
        page.click("#save-access")
        expect(page.locator("#user")).to_contain_text(ROLE)
        expect(page.locator(f"#user-roles label:has-text('{ROLE}') input")).to_be_checked()
        shots("user-roles")
        page.goto(f"{origin}/roles/{ROLE}")
        expect(page.locator("#role-users")).to_have_text("bob")

        # Bob's profile: the role, and the permission its rule grants (conditional at type level).
        bob.goto(f"{origin}/profile")
        expect(bob.locator("#my-access")).to_contain_text(ROLE)
        bob.click("#perm-table summary")
        lineage = bob.locator("#perm-table tr[data-operation=EditLineage]")
        expect(lineage).to_have_attribute("data-access", "conditionalAllow")
        for text in (POLICY, RULE, ROLE):
            expect(lineage).to_contain_text(text)
        expect(bob.locator("#perm-table tr[data-operation=ViewAll]")).to_have_attribute("data-access", "allow")
        shots("profile-permissions", bob)

        # Bob sees the roles and policies read-only: no forms, no buttons.
        csrf = bob.locator("input[name=csrf]").first.get_attribute("value")
        for label, path, present, absent in [
            ("roles", "/roles", f"#roles tr[data-role={ROLE}]", "#role-create-form"),
            ("role", f"/roles/{ROLE}", "#role-policies-list", "#role-edit-form, #delete-role"),
            ("policies", "/policies", f"#policies tr[data-policy={POLICY}]", "#policy-create-form"),
            ("policy", f"/policies/{POLICY}", f"#rules tr[data-rule={RULE}]", "#rule-form, #delete-policy, #edit-rule-0"),
            ("user", "/users/bob", "#user", "#user-access-form"),
        ]:
            bob.goto(f"{origin}{path}")
            expect(bob.locator(present)).to_be_visible()
            expect(bob.locator(absent)).to_have_count(0)
            shots(f"read-only-{label}", bob)
        # The catalog refuses his forms all the same: the pages only reflect its decision.
        assert bob.evaluate(POST_FORM, [f"/roles/{ROLE}/delete", csrf]) == 403, "a non-admin deleted a role"
        assert bob.evaluate(POST_FORM, [f"/policies/{POLICY}/delete", csrf]) == 403, "a non-admin deleted a policy"

        # Alice deletes the role; Bob no longer holds it.
        page.goto(f"{origin}/roles/{ROLE}")
        page.once("dialog", lambda d: d.accept())
        page.click("#delete-role")
        expect(page).to_have_url(f"{origin}/roles")
        expect(page.locator(f"#roles tr[data-role={ROLE}]")).to_have_count(0)
        expect(page.locator("#roles tr[data-role=DataConsumer]")).to_be_visible()
        page.goto(f"{origin}/roles/DataConsumer")
        expect(page.locator("#delete-role")).to_have_count(0)
        bob.goto(f"{origin}/profile")
        expect(bob.locator("#my-access")).not_to_contain_text(ROLE)
    finally:
        bob_context.close()


# --------------------------------------------------------------------------------------------
# a confidential client; the basic provider
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_signs_in_with_its_secret(sso, page: Page, method: str):
    secret = "conf-secret-" + "x" * 24

    def client_for(origin):
        return {"client_id": "om-confidential", "client_secret": secret, "auth_method": method, "redirect_uris": [f"{origin}/callback"], "logout_uris": [f"{origin}/signin"]}

    server, fake, got = sso(
        client=client_for,
        env={"AUTHENTICATION_CLIENT_TYPE": "confidential", "OIDC_CLIENT_ID": "om-confidential", "OIDC_CLIENT_SECRET": secret, "OIDC_CLIENT_AUTH_METHOD": method},
    )
    page.goto(f"{got}/signin")
    page.click("#signin")
    sign_in_at_provider(page, "bob")
    expect(page.locator("#user-name")).to_have_text("Bob Builder")
    assert fake.stats()["token"]["authorization_code"] == 1
    assert secret not in server.log_text(), "the client secret reached the log"
    page.click("#signout")
    expect(page.locator("#signed-out-notice")).to_be_visible()
    assert fake.stats()["revoke"] == 1


def test_basic_provider_form_login_wrong_password_and_lockout(start_ferrometa, page: Page, shots: Shots):
    port = free_port()
    server = start_ferrometa({"SERVER_PORT": str(port), "AUTHORIZER_ADMIN_PRINCIPALS": f"[admin:{ADMIN_PASSWORD}]", "OIDC_SERVER_URL": f"http://127.0.0.1:{port}"})
    origin = server.base
    page.goto(f"{origin}/")
    expect(page).to_have_url(f"{origin}/signin")
    expect(page.locator("#email")).to_be_visible()
    shots("basic-signin")
    page.fill("#email", "admin@open-metadata.org")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#basic-signin")
    expect(page).to_have_url(f"{origin}/")
    expect(page.locator("#user-name")).to_have_text("admin")
    shots("basic-home")
    page.click("#signout")
    expect(page).to_have_url(f"{origin}/signed-out")
    shots("basic-signed-out")
    page.goto(f"{origin}/")
    expect(page).to_have_url(f"{origin}/signin")

    for attempt in range(3):
        page.fill("#email", "admin@open-metadata.org")
        page.fill("#password", "Wrong-passw0rd!")
        page.click("#basic-signin")
        expect(page.locator("#signin-error")).to_have_text(INVALID_CREDENTIALS)
    shots("basic-wrong-password")
    page.fill("#email", "admin@open-metadata.org")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#basic-signin")
    expect(page.locator("#signin-error")).to_have_text(LOCKED_OUT)
    shots("basic-locked-out")
    assert ADMIN_PASSWORD not in server.log_text()

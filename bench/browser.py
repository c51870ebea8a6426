"""Issue 6's benchmark: sign-in round trip in a real browser, and p99 of an authenticated page.

Run with the e2e venv (bench/run.sh browser does this):

    e2e/.venv/bin/python bench/browser.py --out bench/results/browser.md

Reuses the e2e infrastructure: the Cognito-shaped stand-in (``e2e/fakecognito.py`` +
``e2e/fake-cognito/``, started with node), ferrometa configured like OpenMetadata's Cognito guide
(``fakecognito.ferrometa_env``), the ``Ferrometa`` process wrapper of ``e2e/conftest.py`` (JSON log
line ``ferrometa is serving``), and ``test_browser.py``'s Chromium flags, Hosted-UI form filling
and catalog seeding. Only the process start is re-done here, because ``start_ferrometa`` is a
pytest fixture. Everything talks to 127.0.0.1 (and ``localhost``, the stand-in's issuer host).

Figures are ratios against baselines measured in the same run (see bench/README.md):
- sign-in round trip (``/`` → ``/signin`` → ``/login`` → the provider's form → ``/callback`` → home
  showing the user's name) against the provider's own round trip without ferrometa's flow (its
  authorization page + form post, redirected to ferrometa's static ``/ui/app.css``);
- ``GET /catalog`` with the session cookie against the unauthenticated ``GET /signin`` page, and
  ``GET /api/v1/system/version``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from conftest import Ferrometa  # noqa: E402
from pybench import header, pct, run, start_ferrometa  # noqa: E402
from fakecognito import POOL_ID, ferrometa_env, free_port, public_client, start_fake_cognito  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_FLAGS, CLIENT_ID, seed_catalog, session_cookies, sign_in_at_provider  # noqa: E402

BASELINE_CLIENT_ID = "bench-baseline-client"
USER_NAME = "Alice Example"
TIMEOUT_MS = 30_000


# --------------------------------------------------------------------------------------------
# 1. sign-in round trip
# --------------------------------------------------------------------------------------------


class Requests:
    """Every finished request of a page: (url, wall start in s, duration until the response end in s)."""

    def __init__(self, page):
        self.items: list[tuple[str, float, float]] = []
        self.failed: list[str] = []
        page.on("requestfinished", self._finished)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))

    def _finished(self, r) -> None:
        t = r.timing
        end = t.get("responseEnd", -1)
        if end is None or end < 0:
            end = t.get("responseStart", -1)
        self.items.append((r.url, t["startTime"] / 1000.0, max(end, 0) / 1000.0))

    def first_start(self, pred) -> float | None:
        starts = [s for (u, s, _) in self.items if pred(urlparse(u))]
        return min(starts) if starts else None

    def busy(self, pred) -> float:
        """Sum of the durations of the matching requests (the navigations are sequential)."""
        return sum(d for (u, _, d) in self.items if pred(urlparse(u)))


def sign_in_round(browser, origin: str, fake_host: str) -> dict:
    """One full sign-in in a fresh context; wall-clock times in ms."""
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        reqs = Requests(page)
        t0 = time.time()
        page.goto(f"{origin}/")
        expect(page).to_have_url(f"{origin}/signin")
        page.click("#signin")
        expect(page.locator("#signInFormUsername")).to_be_visible()
        t_form = time.time()
        sign_in_at_provider(page)
        expect(page.locator("#user-name")).to_have_text(USER_NAME)
        t1 = time.time()
        assert len(session_cookies(page)) == 1, context.cookies()
        assert not reqs.failed, reqs.failed
        ours = urlparse(origin).netloc
        at_fm = lambda u: u.netloc == ours  # noqa: E731
        at_idp = lambda u: u.netloc == fake_host  # noqa: E731
        t_authorize = reqs.first_start(lambda u: at_idp(u) and u.path.endswith("/oauth2/authorize"))
        t_callback = reqs.first_start(lambda u: at_fm(u) and u.path == "/callback")
        assert t_authorize and t_callback, [u for (u, _, _) in reqs.items]
        return {
            "total": (t1 - t0) * 1000,
            # ferrometa's pages up to the redirect to the provider: / → /signin → click → /login
            "to_provider": (t_authorize - t0) * 1000,
            # at the provider: authorize → login form → fill + submit → redirect back
            "at_provider": (t_callback - t_authorize) * 1000,
            # /callback (code exchange at the provider's token endpoint, session) → / home render
            "callback_home": (t1 - t_callback) * 1000,
            "until_form": (t_form - t0) * 1000,
            "fm_requests": reqs.busy(at_fm) * 1000,
            "idp_requests": reqs.busy(at_idp) * 1000,
            "login_req": reqs.busy(lambda u: at_fm(u) and u.path == "/login") * 1000,
            "callback_req": reqs.busy(lambda u: at_fm(u) and u.path == "/callback") * 1000,
            "n_fm": sum(1 for (u, _, _) in reqs.items if at_fm(urlparse(u))),
            "n_idp": sum(1 for (u, _, _) in reqs.items if at_idp(urlparse(u))),
        }
    finally:
        context.close()


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def provider_round(browser, origin: str, fake_base: str) -> float:
    """Baseline: the provider's own round trip in a fresh context — its authorization page
    (→ login form), form fill + submit, redirect to a static page (ferrometa's /ui/app.css)."""
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _, challenge = pkce_pair()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": BASELINE_CLIENT_ID,
                "redirect_uri": f"{origin}/ui/app.css",
                "scope": "openid email profile",
                "state": secrets.token_urlsafe(32),
                "nonce": secrets.token_urlsafe(32),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        t0 = time.time()
        page.goto(f"{fake_base}/{POOL_ID}/oauth2/authorize?{query}")
        sign_in_at_provider(page)
        page.wait_for_url(f"{origin}/ui/app.css?**")
        t1 = time.time()
        assert "code=" in page.url, page.url
        return (t1 - t0) * 1000
    finally:
        context.close()


def static_round(browser, origin: str) -> float:
    """Second reference: a navigation to ferrometa's static /ui/app.css in a fresh context."""
    context = browser.new_context(viewport={"width": 1180, "height": 760})
    try:
        page = context.new_page()
        t0 = time.time()
        r = page.goto(f"{origin}/ui/app.css")
        t1 = time.time()
        assert r is not None and r.status == 200, r
        return (t1 - t0) * 1000
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# 2. page render latency
# --------------------------------------------------------------------------------------------


def timed_get(http: requests.Session, url: str, check) -> float:
    t0 = time.perf_counter()
    r = http.get(url, allow_redirects=False, timeout=30)
    body = r.content
    dt = (time.perf_counter() - t0) * 1000
    assert r.status_code == 200, f"GET {url}: {r.status_code} {body[:300]!r}"
    check(body)
    return dt


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def fmt(x: float) -> str:
    return f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="result Markdown file")
    ap.add_argument("--rounds", type=int, default=20, help="sign-in rounds (and baseline rounds), each in a fresh browser context")
    ap.add_argument("--requests", type=int, default=1000, help="requests per page for the latency part (at least 500)")
    ap.add_argument("--binary", type=Path, default=Path(os.environ.get("FERROMETA_BIN") or ROOT / "target" / "release" / "ferrometa"))
    ap.add_argument("--chromium", default=CHROMIUM)
    args = ap.parse_args()
    if args.requests < 500:
        ap.error("--requests must be at least 500 (p99)")
    if args.rounds < 5:
        ap.error("--rounds must be at least 5")
    binary = args.binary.resolve()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        print(f"ferrometa binary not found at {binary}", file=sys.stderr)
        return 1

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        work = Path(tmp)
        clients = [public_client(CLIENT_ID, origin), {"client_id": BASELINE_CLIENT_ID, "redirect_uris": [f"{origin}/ui/app.css"]}]
        fake = start_fake_cognito(work, clients)
        server = None
        try:
            # Room for every round's sign-in start (the default limit is 30 per minute per address).
            env = ferrometa_env(fake, port, CLIENT_ID, FERROMETA_SIGNIN_STARTS_PER_MINUTE="10000")
            server = start_ferrometa(binary, env, work / "ferrometa")
            assert server.base == origin, f"ferrometa listens on {server.base}, expected {origin}"
            fake_host = f"localhost:{fake.port}"
            result = measure(args, server, fake, origin, fake_host)
        finally:
            if server is not None:
                code = server.stop()
                if code != 0:
                    print(f"ferrometa exited with {code} after SIGTERM; log:\n{server.log_text()[-5000:]}", file=sys.stderr)
            fake.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(result)
    print(result)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def measure(args, server: Ferrometa, fake, origin: str, fake_host: str) -> str:
    import importlib.metadata

    binary_versions = [
        f"- Binary: `{os.path.relpath(args.binary.resolve(), ROOT)}` (`{run([str(args.binary.resolve()), '--version'])}`, built {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(args.binary.resolve().stat().st_mtime))}: it may predate the source revision above), one process, configured like OpenMetadata's Cognito guide against the stand-in (`e2e/fakecognito.py: ferrometa_env`), `FERROMETA_SIGNIN_STARTS_PER_MINUTE=10000`; not pinned",
        f"- Provider: `e2e/fake-cognito/fake-cognito.mjs` (oidc-provider, node {run(['node', '--version'])}), two public app clients (ferrometa's, and the baseline's redirecting to `/ui/app.css`)",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            binary_versions.append(f"- Browser: Chromium {browser.version} (`{args.chromium}`, flags of `e2e/test_browser.py`), Playwright {importlib.metadata.version('playwright')} (Python)")
            head = header("Browser sign-in round trip and authenticated page render (issue 6)", binary_versions)

            # Warm-up (not counted): one of each, and the catalog seeded with the signed-in session.
            print("warm-up and seeding", file=sys.stderr)
            sign_in_round(browser, origin, fake_host)
            provider_round(browser, origin, f"http://{fake_host}")
            static_round(browser, origin)

            # Interleaved rounds: sign-in, provider-only, static, so a load change hits all three.
            signin, provider, static = [], [], []
            for i in range(args.rounds):
                signin.append(sign_in_round(browser, origin, fake_host))
                provider.append(provider_round(browser, origin, f"http://{fake_host}"))
                static.append(static_round(browser, origin))
                print(f"round {i + 1}/{args.rounds}: sign-in {signin[-1]['total']:.0f} ms, provider only {provider[-1]:.0f} ms, app.css {static[-1]:.1f} ms", file=sys.stderr)

            # A signed-in context for the page renders; seed the catalog through the API with its cookie.
            context = browser.new_context(viewport={"width": 1180, "height": 760})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{origin}/signin")
            page.click("#signin")
            sign_in_at_provider(page)
            expect(page.locator("#user-name")).to_have_text(USER_NAME)
            seed_catalog(page)
            csrf = page.locator("input[name=csrf]").first.get_attribute("value")
            page.evaluate(
                """async (csrf) => { for (const i of [2, 3, 4, 5]) {
                    const r = await fetch('/api/v1/services/databaseServices', {method: 'PUT', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                        body: JSON.stringify({name: 'warehouse' + i, serviceType: 'Postgres', description: 'Warehouse number ' + i})});
                    if (r.status >= 300) throw new Error('seed ' + r.status); } }""",
                csrf,
            )
            cookies = {c["name"]: c["value"] for c in session_cookies(page)}
            assert len(cookies) == 1, context.cookies()
            context.close()
        finally:
            browser.close()

    # 2. Page renders over keep-alive connections (one per page kind), interleaved, after a warm-up.
    authed = requests.Session()
    authed.cookies.update(cookies)
    anon_signin = requests.Session()
    anon_api = requests.Session()

    def check_catalog(body: bytes) -> None:
        assert USER_NAME.encode() in body and b"warehouse5" in body and b'id="service-list"' in body, body[:500]

    def check_signin(body: bytes) -> None:
        assert b'id="signin"' in body, body[:500]

    def check_version(body: bytes) -> None:
        assert b'"version"' in body, body[:300]

    targets = [
        ("catalog", authed, f"{origin}/catalog", check_catalog),
        ("signin", anon_signin, f"{origin}/signin", check_signin),
        ("version", anon_api, f"{origin}/api/v1/system/version", check_version),
    ]
    sizes = {name: len(http.get(url, timeout=30).content) for name, http, url, _ in targets}
    for _ in range(50):
        for _, http, url, check in targets:
            timed_get(http, url, check)
    lat: dict[str, list[float]] = {name: [] for name, *_ in targets}
    print(f"page renders: {args.requests} of each", file=sys.stderr)
    t_start = time.monotonic()
    for _ in range(args.requests):
        for name, http, url, check in targets:
            lat[name].append(timed_get(http, url, check))
    lat_secs = time.monotonic() - t_start
    end_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    return report(args, head, signin, provider, static, lat, sizes, lat_secs, end_load, fake)


def report(args, head, signin, provider, static, lat, sizes, lat_secs, end_load, fake) -> str:
    def col(key):
        return [r[key] for r in signin]

    total = col("total")
    s_med, s_p90 = statistics.median(total), pct(total, 90)
    b_med, b_p90 = statistics.median(provider), pct(provider, 90)
    st_med = statistics.median(static)
    c, sg, v = lat["catalog"], lat["signin"], lat["version"]
    c50, c99, g50, g99, v50, v99 = pct(c, 50), pct(c, 99), pct(sg, 50), pct(sg, 99), pct(v, 50), pct(v, 99)
    n = args.requests
    fm_part = [r["to_provider"] + r["callback_home"] for r in signin]

    out = [head]
    out.append(
        f"- Sign-in: {args.rounds} rounds after one warm-up, each in a fresh browser context (no cookies), interleaved with one provider-only round and one `/ui/app.css` navigation"
    )
    out.append(f"- Page renders: {n} requests of each page, interleaved (`/catalog`, `/signin`, `/api/v1/system/version`), after 50 warm-up rounds; Python `requests` over one keep-alive connection per page; load average at the end: {end_load}")
    out.append("")
    out.append("## Summary")
    out.append("")
    out.append("Issue 6 sets no numeric goal for these figures; they are reported as ratios against the same-run baselines.")
    out.append("")
    out.append("| metric | measured | baseline (same run) | ratio | goal | result |")
    out.append("|---|---|---|---|---|---|")
    out.append(
        f"| sign-in round trip, median (`/` → `/signin` → `/login` → provider's form, fill + submit → `/callback` → home shows the user's name) | {fmt(s_med)} ms | provider's own round trip (authorization page → form, fill + submit → static page): {fmt(b_med)} ms | {s_med / b_med:.2f} | none (reported) | – |"
    )
    out.append(f"| sign-in round trip, p90 | {fmt(s_p90)} ms | provider's own round trip p90: {fmt(b_p90)} ms | {s_p90 / b_p90:.2f} | none (reported) | – |")
    out.append(
        f"| ferrometa's part of the sign-in, median (wall time outside the provider: before its authorization request and from `/callback` to the rendered home; three browser navigations end at ferrometa: `/` → `/signin`, `/login`, `/callback` → `/`) | {fmt(statistics.median(fm_part))} ms | navigation to the static `/ui/app.css` in a fresh context: {fmt(st_med)} ms | {statistics.median(fm_part) / st_med:.2f} | none (reported) | – |"
    )
    out.append(f"| authenticated page render `GET /catalog` (session cookie), p99 | {fmt(c99)} ms | unauthenticated `GET /signin`: {fmt(g99)} ms | {c99 / g99:.2f} | none (reported) | – |")
    out.append(f"| authenticated page render `GET /catalog`, p50 | {fmt(c50)} ms | `GET /signin`: {fmt(g50)} ms | {c50 / g50:.2f} | none (reported) | – |")
    out.append(f"| authenticated page render `GET /catalog`, p99 | {fmt(c99)} ms | `GET /api/v1/system/version`: {fmt(v99)} ms | {c99 / v99:.2f} | none (reported) | – |")
    out.append("")

    out.append("## Sign-in: where the time goes (median over the rounds, ms)")
    out.append("")
    out.append("Phases are cut at the start times Chromium reports for the provider's `/oauth2/authorize` request and ferrometa's `/callback` request (Playwright `requestfinished` → `request.timing`), against the wall clock of the script at `page.goto` and when the user's name is visible.")
    out.append("")
    out.append("| phase | median | p90 |")
    out.append("|---|---|---|")
    rows = [
        ("whole round trip", "total"),
        ("ferrometa before the provider: `goto /` → 303 `/signin` (page + CSS) → click → `/login` 303, until the authorization request starts", "to_provider"),
        ("at the provider: authorization → login form, fill + submit (Playwright), post → redirect, until `/callback` starts", "at_provider"),
        ("ferrometa after the provider: `/callback` (state check, code exchange at the token endpoint, ID token validation, session) → 303 `/` → home rendered, until the name is visible", "callback_home"),
        ("  of which: request time of `/login` (start → response end)", "login_req"),
        ("  of which: request time of `/callback` (start → response end; includes the provider's token endpoint)", "callback_req"),
        ("sum of request times to ferrometa (all its requests of the round)", "fm_requests"),
        ("sum of request times to the provider", "idp_requests"),
        ("`goto /` until the provider's form is visible", "until_form"),
    ]
    for label, key in rows:
        out.append(f"| {label} | {fmt(statistics.median(col(key)))} | {fmt(pct(col(key), 90))} |")
    diff = [r["total"] - b for r, b in zip(signin, provider)]
    out.append(f"| sign-in round minus the provider-only round of the same iteration (what ferrometa's flow adds) | {fmt(statistics.median(diff))} | {fmt(pct(diff, 90))} |")
    out.append("")
    out.append(f"Requests per round: {statistics.median(col('n_fm')):.0f} to ferrometa, {statistics.median(col('n_idp')):.0f} to the provider (median). Provider calls counted by the stand-in over the whole run: `{fake.stats()}`.")
    out.append("")

    out.append("## Raw figures")
    out.append("")
    out.append("Sign-in rounds (ms):")
    out.append("")
    out.append("| round | sign-in total | ferrometa before provider | at provider | `/callback` → home | provider-only baseline | `/ui/app.css` |")
    out.append("|---|---|---|---|---|---|---|")
    for i, (r, b, s) in enumerate(zip(signin, provider, static), 1):
        out.append(f"| {i} | {r['total']:.1f} | {r['to_provider']:.1f} | {r['at_provider']:.1f} | {r['callback_home']:.1f} | {b:.1f} | {s:.1f} |")
    out.append("")
    out.append(f"Page renders ({n} each, {lat_secs:.1f} s in all; ms, client-side time from sending the request to the last body byte):")
    out.append("")
    out.append("| page | body bytes | min | p50 | p90 | p99 | max | mean |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name, path in [("catalog", "`GET /catalog` (session cookie)"), ("signin", "`GET /signin` (no cookie)"), ("version", "`GET /api/v1/system/version` (no token)")]:
        xs = lat[name]
        out.append(f"| {path} | {sizes[name]} | {min(xs):.2f} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {pct(xs, 99):.2f} | {max(xs):.2f} | {statistics.fmean(xs):.2f} |")
    out.append("")

    out.append("## Method")
    out.append("")
    out.append(
        "- One ferrometa (`serve`, fresh data dir, fixed port so the app client's callback URL is known) and one Cognito-shaped stand-in, started with the e2e helpers (`start_fake_cognito`, `public_client`, `ferrometa_env`, conftest's `Ferrometa`), and one headless Chromium launched like `e2e/test_browser.py`'s. All on 127.0.0.1 (`localhost` for the provider's issuer)."
    )
    out.append(
        "- **Sign-in round**: a new browser context; `page.goto(origin + \"/\")` (redirects to `/signin`), click `#signin`, wait for the provider's `#signInFormUsername`, `sign_in_at_provider` (fills username and password, clicks `#signInSubmit`, as the browser test does), wait until `#user-name` reads the user's name; the session cookie is checked. The time is the wall clock around these steps, Playwright's own round trips included (they are in the baseline too)."
    )
    out.append(
        "- **Baseline, provider's own round trip**: a new browser context; `page.goto` of the provider's `/oauth2/authorize` (PKCE S256, state, nonce) for a second app client whose redirect URI is ferrometa's static `/ui/app.css`, the same `sign_in_at_provider`, and wait for the browser to land on `/ui/app.css?code=…`. It is the same browser work at the provider (authorization request, login form, credential post, redirect) without ferrometa's `/signin`, `/login`, `/callback` (and its back-channel code exchange) and home page; the ratio says how much longer the whole sign-in takes than the provider's part of it. A navigation to `/ui/app.css` alone is the reference for ferrometa's part (the fixed cost of one browser navigation to the server)."
    )
    out.append("- Rounds are interleaved (sign-in, provider-only, static) and each uses a fresh context, so no provider session or ferrometa cookie carries over.")
    out.append(
        "- **Page renders**: a context signed in through the same flow seeds the catalog through the API with its cookie and CSRF token (`seed_catalog` of the browser test: service → database → schema → table, plus 4 more database services), and its session cookie is handed to Python `requests`. Then `GET /catalog` (checked: 200, the user's name and the services in the page), `GET /signin` without a cookie (the server-rendered sign-in page, no session lookup) and `GET /api/v1/system/version` are requested in turn, each kind on its own keep-alive connection, the time taken from sending the request to reading the whole body. Percentiles interpolate between closest ranks."
    )
    out.append(
        "- The server and the client share the machine's CPUs (not pinned), so the figures include client and scheduling noise; the same-run ratios absorb a uniformly slower machine, not a competing process that comes and goes — see the load averages above."
    )
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())

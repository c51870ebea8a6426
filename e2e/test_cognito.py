"""Issue 4 acceptance: ferrometa judges real Cognito-shaped tokens (from moto) correctly.

ferrometa is configured only through the Docker env of OpenMetadata's "Amazon Cognito SSO"
guide (``Cognito.guide_env``), plus test plumbing (loopback, ports 0, a data dir, JSON logs).
Every server is fresh (its own data dir); the moto pools are shared by the session.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from conftest import Cognito, Ferrometa

LOGGED_IN = "/api/v1/users/loggedInUser"
USERS = "/api/v1/users"
WWW_AUTHENTICATE = 'Bearer error="invalid_token"'
SELF_ONLY = "Self Signup can only create user for self. Only Admin can create other users."


# --------------------------------------------------------------------------------------------
# assertions with messages that say what broke
# --------------------------------------------------------------------------------------------


def show(resp: requests.Response) -> str:
    return f"{resp.request.method} {resp.request.path_url} -> {resp.status_code} {resp.text[:400]!r}"


def expect(resp: requests.Response, status: int, what: str) -> dict:
    """Asserts the status and returns the JSON body. Never accepts a 500."""
    assert resp.status_code < 500, f"{what}: server error instead of {status}: {show(resp)}"
    assert resp.status_code == status, f"{what}: expected HTTP {status}: {show(resp)}"
    try:
        return resp.json()
    except ValueError:
        raise AssertionError(f"{what}: body is not JSON: {show(resp)}") from None


def expect_error(resp: requests.Response, status: int, what: str, *needles: str, exact: str | None = None) -> str:
    """An OpenMetadata error body ``{"code": status, "message": ...}``; returns the message."""
    body = expect(resp, status, what)
    assert isinstance(body, dict) and set(body) == {"code", "message"}, f"{what}: error body is not {{code, message}}: {show(resp)}"
    assert body["code"] == status, f"{what}: body code {body['code']} differs from HTTP status {status}"
    message = body["message"]
    print(f"[{status}] {what}: {message}")
    assert isinstance(message, str) and message.strip(), f"{what}: empty error message: {show(resp)}"
    if exact is not None:
        assert message == exact, f"{what}: message {message!r}, expected {exact!r}"
    for needle in needles:
        assert needle.lower() in message.lower(), f"{what}: message {message!r} does not mention {needle!r}"
    return message


def expect_401(resp: requests.Response, what: str, *needles: str, exact: str | None = None) -> str:
    """401 with an OpenMetadata body and ``WWW-Authenticate: Bearer error="invalid_token"``."""
    message = expect_error(resp, 401, what, *needles, exact=exact)
    got = resp.headers.get("WWW-Authenticate")
    assert got == WWW_AUTHENTICATE, f"{what}: WWW-Authenticate is {got!r}, expected {WWW_AUTHENTICATE!r}"
    return message


def sign_up(server: Ferrometa, token: str, name: str, email: str) -> dict:
    """OpenMetadata's UI first-login step: POST /users for oneself with the same bearer."""
    user = expect(server.call("POST", USERS, token, json={"name": name, "email": email}), 201, f"self sign-up of {name}")
    assert (user["name"], user["email"]) == (name, email), f"sign-up created {user['name']}/{user['email']}, expected {name}/{email}"
    return user


def logged_in(server: Ferrometa, token: str, who: str) -> dict:
    return expect(server.get(LOGGED_IN, token), 200, f"loggedInUser of {who}")


def ingestion_bot_user_id(server: Ferrometa, token: str) -> str:
    bot = expect(server.get("/api/v1/bots/name/ingestion-bot", token), 200, "GET the ingestion-bot")
    bot_user_id = (bot.get("botUser") or {}).get("id")
    assert bot_user_id, f"ingestion-bot has no botUser.id: {bot}"
    return bot_user_id


def admin_reads_bot_token(server: Ferrometa, cognito: Cognito) -> tuple[str, str]:
    """The Cognito admin principal fetches the ingestion-bot JWT. Returns (bot user id, JWT)."""
    admin = cognito.id_token("admin")
    me = logged_in(server, admin, "the admin principal (first sign-in binds the bootstrapped admin)")
    assert me["name"] == "admin" and me["isAdmin"] is True, f"admin principal is not an admin user: {me}"
    bot_user_id = ingestion_bot_user_id(server, admin)
    body = expect(server.get(f"/api/v1/users/token/{bot_user_id}", admin), 200, "admin reads the ingestion-bot token")
    bot_jwt = body.get("JWTToken", "")
    assert bot_jwt.count(".") == 2, f"users/token gave no JWT: {body}"
    return bot_user_id, bot_jwt


@pytest.fixture
def guide_server(start_ferrometa, cognito: Cognito) -> Ferrometa:
    """ferrometa started with exactly the guide's env (pointed at moto)."""
    return start_ferrometa(cognito.guide_env())


# --------------------------------------------------------------------------------------------
# 1. first login with an ID token
# --------------------------------------------------------------------------------------------


def test_id_token_first_login_creates_only_the_callers_own_user(guide_server: Ferrometa, cognito: Cognito):
    server, token = guide_server, cognito.id_token("alice")

    expect_error(server.get(LOGGED_IN, token), 404, "loggedInUser before first sign-up must be 404 (the UI then signs up)", "alice")

    expect_error(
        server.call("POST", USERS, token, json={"name": "bob", "email": "bob@open-metadata.org"}),
        403, "alice creating a user with another name", exact=SELF_ONLY,
    )
    expect_error(
        server.call("POST", USERS, token, json={"name": "alice", "email": "alice@other.org"}),
        403, "alice signing up with an email that is not her token's", exact=SELF_ONLY,
    )

    created = sign_up(server, token, "alice", "alice@open-metadata.org")
    assert created["isAdmin"] is False and created.get("isBot") is False, f"self sign-up granted rights: {created}"

    me = logged_in(server, token, "alice after sign-up")
    assert (me["id"], me["name"], me["email"]) == (created["id"], "alice", "alice@open-metadata.org"), f"loggedInUser is not the created user: {me}"

    # The next sign-in (a new ID token for the same Cognito subject) reaches the same user.
    me_again = logged_in(server, cognito.id_token("alice"), "alice with a second ID token")
    assert me_again["id"] == created["id"], "a new ID token of the same subject reached another user"

    expect_error(server.call("POST", USERS, token, json={"name": "bob", "email": "bob@open-metadata.org"}), 403,
                 "alice (now a user, a DataConsumer) creating another user",
                 exact="Principal: CatalogPrincipal{name='alice'} operations [Create] not allowed")


# --------------------------------------------------------------------------------------------
# 2. the admin principal  /  3. Cognito and bot tokens side by side
# --------------------------------------------------------------------------------------------


def test_admin_principal_is_admin_and_alice_is_not(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    bot_user_id, _ = admin_reads_bot_token(server, cognito)

    alice = cognito.id_token("alice")
    expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", alice), 403, "alice (no user yet) reading the bot token",
                 exact="User alice has not signed up yet: sign up first (POST /api/v1/users)")
    sign_up(server, alice, "alice", "alice@open-metadata.org")
    expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", alice), 403, "alice (signed-up non-admin) reading the bot token", "not admin")
    expect_error(server.call("PUT", f"/api/v1/users/generateToken/{bot_user_id}", alice, json={"JWTTokenExpiry": "7"}), 403,
                 "alice regenerating the bot token", "not admin")

    # The admin's access token (client_id, no aud) is the same admin.
    me = logged_in(server, cognito.access_token("admin"), "the admin's access token")
    assert me["name"] == "admin" and me["isAdmin"] is True, f"admin access token lost admin rights: {me}"


def test_bot_token_and_cognito_tokens_work_side_by_side(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    _, bot_jwt = admin_reads_bot_token(server, cognito)

    bot = logged_in(server, bot_jwt, "the ingestion-bot JWT")
    assert bot["name"] == "ingestion-bot" and bot["isBot"] is True, f"bot JWT resolved to {bot}"

    alice = cognito.id_token("alice")
    sign_up(server, alice, "alice", "alice@open-metadata.org")
    # Interleave: each kind of token keeps resolving to its own principal on the same server.
    for _ in range(2):
        assert logged_in(server, alice, "alice's Cognito ID token")["name"] == "alice"
        assert logged_in(server, bot_jwt, "the ingestion-bot JWT")["name"] == "ingestion-bot"
        assert logged_in(server, cognito.id_token("admin"), "the admin's Cognito ID token")["name"] == "admin"
    # The bot may use the API the ingestion client needs.
    expect(server.get("/api/v1/bots/name/ingestion-bot", bot_jwt), 200, "the bot reading its bot entity")


# --------------------------------------------------------------------------------------------
# 4. email_verified = false
# --------------------------------------------------------------------------------------------


def test_unverified_email_is_refused_when_the_domain_is_enforced(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN="true"))
    eve = cognito.id_token("eve")
    assert cognito.claims(eve)["email_verified"] in ("false", False), "fixture: eve's email must be unverified"
    expect_401(server.get(LOGGED_IN, eve), "eve (unverified email) with domain enforcement", "not verified")
    expect_401(server.call("POST", USERS, eve, json={"name": "eve", "email": "eve@open-metadata.org"}),
               "eve (unverified) signing up with domain enforcement", "not verified")
    expect_401(server.get(LOGGED_IN, cognito.access_token("eve")), "eve's access token with domain enforcement")


def test_unverified_email_may_sign_up_without_admin_rights(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env())
    eve = cognito.id_token("eve")
    created = sign_up(server, eve, "eve", "eve@open-metadata.org")
    assert created["isAdmin"] is False, f"unverified eve got admin rights at sign-up: {created}"
    me = logged_in(server, eve, "eve after sign-up")
    assert me["isAdmin"] is False, f"unverified eve is admin: {me}"
    bot_user_id = ingestion_bot_user_id(server, eve)
    expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", eve), 403, "unverified eve reading the bot token", "not admin")


def test_unverified_email_gets_no_admin_rights_even_as_an_admin_principal(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ADMIN_PRINCIPALS="[admin, eve]"))
    admin = cognito.id_token("admin")
    bootstrapped = expect(server.get("/api/v1/users/name/eve", admin), 200, "the bootstrapped admin principal eve")
    assert bootstrapped["isAdmin"] is True, f"bootstrap did not make eve an admin: {bootstrapped}"

    # An unverified token must not take over the bootstrapped admin user.
    eve = cognito.id_token("eve")
    expect_401(server.get(LOGGED_IN, eve), "eve (unverified) reaching the bootstrapped admin user eve", "not linked")
    expect_401(server.call("POST", USERS, eve, json={"name": "eve", "email": "eve@open-metadata.org"}),
               "eve (unverified) signing up over the bootstrapped admin user eve")
    bot_user_id = ingestion_bot_user_id(server, admin)
    expect_401(server.get(f"/api/v1/users/token/{bot_user_id}", eve), "eve (unverified) on an admin-only endpoint")

    # Once the admin deletes that user, eve may sign up, but her name in adminPrincipals
    # still grants nothing without a verified email.
    expect(server.call("DELETE", f"/api/v1/users/{bootstrapped['id']}?hardDelete=true", admin), 200, "admin hard-deletes user eve")
    created = sign_up(server, eve, "eve", "eve@open-metadata.org")
    assert created["isAdmin"] is False, f"unverified eve listed in adminPrincipals became admin at sign-up: {created}"
    assert logged_in(server, eve, "eve after sign-up")["isAdmin"] is False
    expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", eve), 403, "unverified admin principal eve reading the bot token", "not admin")


# --------------------------------------------------------------------------------------------
# 5. principal domain enforcement
# --------------------------------------------------------------------------------------------


def test_domain_enforcement_refuses_other_domains_and_accepts_the_principal_domain(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN="true"))
    mallory = cognito.id_token("mallory")
    expect_401(server.get(LOGGED_IN, mallory), "mallory@other.org with domain enforcement",
               exact="Not Authorized! Email does not match the principal domain open-metadata.org")
    expect_401(server.call("POST", USERS, mallory, json={"name": "mallory", "email": "mallory@other.org"}),
               "mallory@other.org signing up with domain enforcement", "principal domain")

    alice = cognito.id_token("alice")
    expect_error(server.get(LOGGED_IN, alice), 404, "alice (verified, principal domain) before sign-up")
    sign_up(server, alice, "alice", "alice@open-metadata.org")
    assert logged_in(server, alice, "alice with domain enforcement")["name"] == "alice"


def test_domain_enforcement_keeps_access_tokens_of_bound_users_working(start_ferrometa, cognito: Cognito):
    """Access tokens carry no email: under enforcement they may only reach a user bound to
    their (iss, sub) whose stored email is verified and in the principal domain."""
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN="true"))
    alice = cognito.tokens("alice")
    expect_401(server.get(LOGGED_IN, alice["access"]), "alice's access token before any ID-token sign-in, with domain enforcement")
    expect_401(server.call("POST", USERS, alice["access"], json={"name": "alice", "email": "alice@open-metadata.org"}),
               "self sign-up with an access token, with domain enforcement")
    created = sign_up(server, alice["id"], "alice", "alice@open-metadata.org")
    me = logged_in(server, alice["access"], "alice's access token after ID-token sign-up, with domain enforcement")
    assert me["id"] == created["id"], f"access token reached another user: {me}"

    # mallory's access token names a user in no way bound to her: refused, whatever her username.
    expect_401(server.get(LOGGED_IN, cognito.access_token("mallory")), "mallory's access token with domain enforcement")


def test_domain_enforcement_access_tokens_of_provisioned_users(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN="true", AUTHENTICATION_ENABLE_SELF_SIGNUP="false"))
    admin = cognito.tokens("admin")
    # The bootstrapped admin principal: its access token works once its ID token bound it.
    expect_401(server.get(LOGGED_IN, admin["access"]), "the admin's access token before its first ID-token sign-in")
    assert logged_in(server, admin["id"], "the admin's ID token")["isAdmin"] is True
    assert logged_in(server, admin["access"], "the admin's access token after its ID-token sign-in")["name"] == "admin"
    # An admin-provisioned user: the first ID-token sign-in verifies and binds it.
    provisioned = expect(server.call("POST", USERS, admin["id"], json={"name": "alice", "email": "alice@open-metadata.org"}), 201, "admin provisions alice")
    alice = cognito.tokens("alice")
    expect_401(server.get(LOGGED_IN, alice["access"]), "provisioned alice's access token before her ID-token sign-in")
    assert logged_in(server, alice["id"], "provisioned alice's ID token")["id"] == provisioned["id"]
    me = logged_in(server, alice["access"], "provisioned alice's access token after her ID-token sign-in")
    assert me["id"] == provisioned["id"] and me.get("isEmailVerified") is True, f"binding did not verify alice's user: {me}"


def test_turning_domain_enforcement_on_shuts_out_users_who_signed_up_unverified(start_ferrometa, cognito: Cognito):
    first = start_ferrometa(cognito.guide_env())
    eve, alice = cognito.tokens("eve"), cognito.tokens("alice")
    sign_up(first, eve["id"], "eve", "eve@open-metadata.org")
    sign_up(first, alice["id"], "alice", "alice@open-metadata.org")
    assert logged_in(first, eve["access"], "eve's access token without enforcement")["name"] == "eve"
    assert first.stop() == 0, "ferrometa did not exit 0 on SIGTERM"

    second = start_ferrometa(cognito.guide_env(AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN="true"), data_dir=first.data_dir)
    expect_401(second.get(LOGGED_IN, eve["id"]), "eve's (unverified) ID token after enforcement was turned on", "not verified")
    expect_401(second.get(LOGGED_IN, eve["access"]), "eve's access token (user signed up unverified) after enforcement was turned on", "not verified")
    assert logged_in(second, alice["access"], "alice's access token after enforcement was turned on")["name"] == "alice"


# --------------------------------------------------------------------------------------------
# 6. access-token profile, other client, other pool
# --------------------------------------------------------------------------------------------


def test_access_token_profile_and_tokens_of_other_clients_and_pools(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    tokens = cognito.tokens("alice")
    access_claims = cognito.claims(tokens["access"])
    assert "aud" not in access_claims and access_claims["client_id"] == cognito.client_id and access_claims["token_use"] == "access", \
        f"fixture: moto access token is not Cognito-shaped: {access_claims}"

    created = sign_up(server, tokens["id"], "alice", "alice@open-metadata.org")
    me = logged_in(server, tokens["access"], "alice's access token after ID-token sign-up")
    assert me["id"] == created["id"], f"access token reached another user: {me}"

    # A refreshed ID token (REFRESH_TOKEN_AUTH) is the same subject, hence the same user.
    refreshed = cognito.refresh(tokens["refresh"])
    assert logged_in(server, refreshed["id"], "alice's refreshed ID token")["id"] == created["id"]
    assert logged_in(server, refreshed["access"], "alice's refreshed access token")["id"] == created["id"]

    other_client = cognito.tokens("alice", cognito.other_client_id)
    expect_401(server.get(LOGGED_IN, other_client["access"]), "access token of another app client", "client_id")
    expect_401(server.get(LOGGED_IN, other_client["id"]), "ID token minted for another app client", "aud")

    other_pool = cognito.tokens("alice", cognito.other_pool_client_id)
    assert cognito.claims(other_pool["id"])["iss"] == cognito.issuer(cognito.other_pool_id)
    expect_401(server.get(LOGGED_IN, other_pool["id"]), "ID token of another user pool (same signing key)", "issuer")
    expect_401(server.get(LOGGED_IN, other_pool["access"]), "access token of another user pool (same signing key)", "issuer")
    # Our client id (aud) and a valid signature, but an issuer that is not the configured authority.
    pool = cognito.pool_id
    for iss, what in [
        (cognito.issuer(cognito.other_pool_id), "another pool's issuer"),
        (f"http://cognito-idp.us-east-1.amazonaws.com/{pool}", "the http:// issuer"),
        (f"https://issuer.cognito-idp.us-east-1.amazonaws.com/{pool}", "the multi-region issuer host (not configured)"),
        (f"https://cognito-idp.us-west-2.amazonaws.com/{pool}", "another region's issuer"),
    ]:
        forged = cognito.mint(cognito.id_claims("alice", iss=iss))
        expect_401(server.get(LOGGED_IN, forged), f"token with our client id but {what}", "issuer")
    forged = cognito.mint(cognito.id_claims("alice", iss=None))
    expect_401(server.get(LOGGED_IN, forged), "token without iss", "issuer")

    # Audience forms: one-element list is the client; anything else is not.
    assert logged_in(server, cognito.mint(cognito.id_claims("alice", aud=[cognito.client_id])), "ID token with aud = [clientId]")["id"] == created["id"]
    for aud, what in [([cognito.client_id, cognito.other_client_id], "two audiences"), ([], "an empty audience list"), (None, "no aud")]:
        expect_401(server.get(LOGGED_IN, cognito.mint(cognito.id_claims("alice", aud=aud))), f"ID token with {what}", "aud")


# --------------------------------------------------------------------------------------------
# 6b. roles from the provider (cognito:groups) with ID and access tokens
# --------------------------------------------------------------------------------------------


def test_roles_from_provider_keep_admin_principals_admin_with_access_tokens(start_ferrometa, cognito: Cognito):
    """With useRolesFromProvider, each sign-in re-syncs roles and the admin flag; an access
    token (no email) of the admin principal must not demote it, nor promote anyone else."""
    server = start_ferrometa(cognito.guide_env(
        AUTHORIZER_USE_ROLES_FROM_PROVIDER="true", FERROMETA_GROUP_ROLE_MAPPING=f"[{cognito.group}:DataSteward]"))
    admin = cognito.tokens("admin")
    assert logged_in(server, admin["id"], "the admin principal's ID token")["isAdmin"] is True
    assert logged_in(server, admin["access"], "the admin principal's access token")["isAdmin"] is True, \
        "the admin principal's access token demoted it (isAdmin false)"
    assert logged_in(server, admin["id"], "the admin principal's ID token again")["isAdmin"] is True
    bot_user_id = ingestion_bot_user_id(server, admin["access"])
    expect(server.get(f"/api/v1/users/token/{bot_user_id}", admin["access"]), 200, "the admin's access token on an admin-only endpoint")

    alice = cognito.tokens("alice")
    assert cognito.group in cognito.claims(alice["id"]).get("cognito:groups", []), "fixture: alice is in the group"
    sign_up(server, alice["id"], "alice", "alice@open-metadata.org")
    for kind in ("id", "access"):
        me = logged_in(server, alice[kind], f"alice's {kind} token with roles from the provider")
        assert [r["name"] for r in me.get("roles", [])] == ["DataSteward"], f"group {cognito.group} did not map to DataSteward: {me.get('roles')}"
        assert me["isAdmin"] is False, f"alice's {kind} token made her admin: {me}"


# --------------------------------------------------------------------------------------------
# 7. time claims, token_use, algorithms
# --------------------------------------------------------------------------------------------


def test_expired_early_untyped_and_unsigned_tokens_are_401_never_500(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    now = int(time.time())

    # Control: a token minted with moto's key and fresh times is accepted (404 = valid, no user yet).
    expect_error(server.get(LOGGED_IN, cognito.mint(cognito.id_claims("alice"))), 404, "control: freshly minted ID token must be accepted")
    # Inside the 60 s leeway still counts as valid.
    expect_error(server.get(LOGGED_IN, cognito.mint(cognito.id_claims("alice", exp=now - 20))), 404, "token expired 20 s ago (within the 60 s leeway)")

    expired = cognito.mint(cognito.id_claims("alice", iat=now - 7200, auth_time=now - 7200, exp=now - 3600))
    expect_401(server.get(LOGGED_IN, expired), "token expired an hour ago", exact="Expired token!")

    early = cognito.mint(cognito.id_claims("alice", nbf=now + 3600, exp=now + 7200))
    expect_401(server.get(LOGGED_IN, early), "token with nbf an hour ahead", "nbf")

    future_iat = cognito.mint(cognito.id_claims("alice", iat=now + 3600, exp=now + 7200))
    expect_401(server.get(LOGGED_IN, future_iat), "token issued an hour in the future", "iat")

    untyped = cognito.mint(cognito.id_claims("alice", token_use=None))
    expect_401(server.get(LOGGED_IN, untyped), "Cognito token without token_use", "token_use")

    wrong_use = cognito.mint(cognito.id_claims("alice", token_use="refresh"))
    expect_401(server.get(LOGGED_IN, wrong_use), "Cognito token with token_use=refresh", "token_use")

    no_exp = cognito.mint(cognito.id_claims("alice", exp=None))
    expect_401(server.get(LOGGED_IN, no_exp), "Cognito token without exp", "exp")

    string_exp = cognito.mint(cognito.id_claims("alice", exp="never"))
    expect_401(server.get(LOGGED_IN, string_exp), "Cognito token with exp=\"never\"", "exp")

    for alg in ("none", "None", "NONE"):
        expect_401(server.get(LOGGED_IN, cognito.unsigned(cognito.id_claims("alice"), alg)), f"unsigned alg={alg} token", "algorithm")

    expect_401(server.get(LOGGED_IN, cognito.hs256_with_public_key(cognito.id_claims("alice"))),
               "HS256 token MAC'd with moto's public key (key confusion)", "algorithm")

    # A real moto token whose payload was changed keeps its (now wrong) signature.
    tampered = cognito.with_payload(cognito.id_token("alice"), cognito.id_claims("alice", email="admin@open-metadata.org"))
    expect_401(server.get(LOGGED_IN, tampered), "real token with a tampered payload")

    # A kid the IdP does not publish.
    unknown_kid = cognito.mint(cognito.id_claims("alice"), headers={"kid": "not-a-moto-key"})
    expect_401(server.get(LOGGED_IN, unknown_kid), "token with an unknown kid", "kid")


# --------------------------------------------------------------------------------------------
# 8. self-signup disabled
# --------------------------------------------------------------------------------------------


def test_self_signup_disabled_refuses_unknown_users_clearly(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHENTICATION_ENABLE_SELF_SIGNUP="false"))
    alice = cognito.id_token("alice")
    expect_error(server.get(LOGGED_IN, alice), 403, "unknown verified user with self-signup disabled", "self-signup is disabled", "alice")
    expect_error(server.call("POST", USERS, alice, json={"name": "alice", "email": "alice@open-metadata.org"}), 403,
                 "POST /users by an unknown user with self-signup disabled", "Self Signup is not enabled")

    # Provisioning by the admin is the way in: then alice's first sign-in reaches her user.
    admin = cognito.id_token("admin")
    provisioned = expect(server.call("POST", USERS, admin, json={"name": "alice", "email": "alice@open-metadata.org"}), 201,
                         "admin provisions alice")
    me = logged_in(server, alice, "provisioned alice with self-signup disabled")
    assert me["id"] == provisioned["id"], f"alice reached {me}, not the provisioned user"


# --------------------------------------------------------------------------------------------
# 9. password login off with aws-cognito
# --------------------------------------------------------------------------------------------


def test_password_login_is_refused_when_the_provider_is_cognito(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    password_b64 = base64.b64encode(cognito.password.encode()).decode()
    for email in ("admin@open-metadata.org", "alice@open-metadata.org", "nobody@open-metadata.org"):
        resp = server.call("POST", "/api/v1/users/login", json={"email": email, "password": password_b64})
        message = expect_error(resp, 403, f"basic-auth login of {email} with provider aws-cognito", "password login")
        assert "disabled" in message.lower() or "off" in message.lower(), f"message does not say password login is off: {message!r}"


# --------------------------------------------------------------------------------------------
# 10. 401 shape, and logs without secrets
# --------------------------------------------------------------------------------------------


def test_every_401_is_openmetadata_shaped_with_www_authenticate(guide_server: Ferrometa, cognito: Cognito):
    server = guide_server
    expect_401(server.get(LOGGED_IN), "no Authorization header", exact="Not Authorized! Token not present")
    expect_401(server.call("GET", LOGGED_IN, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), "Basic credentials on the API")
    expect_401(server.get(LOGGED_IN, "not-a-jwt"), "a bearer that is not a JWT")
    expect_401(server.get(LOGGED_IN, "a.b.c.d.e"), "a JWE-shaped bearer")
    expect_401(server.get(USERS, "x" * 20000), "an oversized bearer")
    expect_401(server.get("/api/v1/bots/name/ingestion-bot", cognito.id_token("mallory") + "x"), "a token with a broken signature")


def test_logs_contain_no_tokens_and_no_passwords(start_ferrometa, started_ferrometas, cognito: Cognito):
    # A chatty server (debug level) that sees every kind of credential.
    server = start_ferrometa(cognito.guide_env(LOG_LEVEL="DEBUG"))
    tokens = cognito.tokens("alice")
    sign_up(server, tokens["id"], "alice", "alice@open-metadata.org")
    logged_in(server, tokens["access"], "alice's access token")
    _, bot_jwt = admin_reads_bot_token(server, cognito)
    logged_in(server, bot_jwt, "the bot")
    now = int(time.time())
    expect_401(server.get(LOGGED_IN, cognito.mint(cognito.id_claims("alice", exp=now - 3600, iat=now - 7200))), "expired token")
    expect_401(server.get(LOGGED_IN, cognito.id_token("alice", cognito.other_client_id)), "token of another client")
    expect_401(server.get(LOGGED_IN, cognito.unsigned(cognito.id_claims("alice"))), "unsigned token")
    password_b64 = base64.b64encode(cognito.password.encode()).decode()
    expect(server.call("POST", "/api/v1/users/login", json={"email": "admin@open-metadata.org", "password": password_b64}), 403,
           "password login")

    secrets_seen = {
        "a JWT (eyJ...)": "eyJ",
        "the Cognito users' password": cognito.password,
        "the Base64 password": password_b64,
        "alice's Cognito refresh token": tokens["refresh"],
    }
    servers = [s for s in started_ferrometas if s.log_path.exists()]
    assert server in servers
    for s in servers:
        text = s.log_text()
        assert "ferrometa is serving" in text, f"{s.log_path}: log does not hold the server's output"
        for what, needle in secrets_seen.items():
            assert needle not in text, f"{s.log_path}: the server log contains {what}"

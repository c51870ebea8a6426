"""Issue 14 acceptance, the Cognito part: OpenMetadata's roles and policies judge callers who
sign in with real Amazon Cognito tokens (from moto), side by side with the ingestion bot's JWT.

The Rust suite ``crates/ferrometa/tests/access_control.rs`` checks the same rules with basic-auth
users; here every human is a Cognito user of the guide's pool (``cognito.guide_env()``) who signs
up with its ID token and then acts with its ID token and, where the API allows it, its access
token (everything but self sign-up). Most tests share one server per module (``org``): each
works on its own Cognito users and entities, by unique names. Tests that change global settings
(admin principals, self-signup) start their own server.

No sleeps: a change of roles, teams or users applies to the very next request of a cached
Cognito token (the server drops its cached callers on every such change).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import pytest
import requests

from test_cognito import LOGGED_IN, USERS, expect, expect_401, expect_error, ingestion_bot_user_id, logged_in, show, sign_up

if TYPE_CHECKING:
    from conftest import Cognito, Ferrometa

PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}
DOMAIN = "open-metadata.org"
# The catalog reads a caller with no user (or no live user) must be refused.
CATALOG_READS = ["/api/v1/tables", USERS, "/api/v1/bots", "/api/v1/search/query?q=*"]


PRINCIPAL_PREFIX = "Principal: CatalogPrincipal{name='"


def principal(name: str) -> str:
    return f"{PRINCIPAL_PREFIX}{name}'}}"


def not_allowed(name: str, *operations: str) -> str:
    return f"{principal(name)} operations [{', '.join(operations)}] not allowed"


def not_admin(name: str) -> str:
    return f"{principal(name)} is not admin"


def patch(server: Ferrometa, path: str, token: str, ops: list[dict]) -> requests.Response:
    """A JSON Patch, sent as OpenMetadata's clients send it."""
    return server.call("PATCH", path, token, json=ops, headers=PATCH_HEADERS)


def describe(text: str) -> list[dict]:
    return [{"op": "add", "path": "/description", "value": text}]


def display_name(text: str) -> list[dict]:
    return [{"op": "add", "path": "/displayName", "value": text}]


def ref(entity: dict, kind: str) -> dict:
    return {"id": entity["id"], "type": kind}


def columns() -> list[dict]:
    return [{"name": "id", "dataType": "INT"}, {"name": "email", "dataType": "VARCHAR", "dataLength": 64}]


# --------------------------------------------------------------------------------------------
# the shared organisation: one server, the admin principal, the ingestion bot, a schema
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    """A Cognito user who signed up: its user entity and its tokens (one of each, reused, so
    that the server's cache of IdP callers is exercised)."""

    name: str
    user: dict
    tokens: dict[str, str]

    @property
    def id(self) -> str:
        return self.user["id"]


@dataclass
class Org:
    server: Ferrometa
    cognito: Cognito
    admin: dict[str, str]  # the admin principal's ID and access tokens
    bot: str  # the ingestion bot's JWT
    schema: str  # FQN of a schema the bot created (service, database, schema)
    people: dict[str, Person] = field(default_factory=dict)
    _seq: Any = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq)}"

    def person(self, name: str) -> Person:
        """The Cognito user ``name`` (``name@open-metadata.org``, verified), signed up with its
        ID token; once per module."""
        if name not in self.people:
            self.cognito.add_user(name, f"{name}@{DOMAIN}")
            tokens = self.cognito.tokens(name)
            user = sign_up(self.server, tokens["id"], name, f"{name}@{DOMAIN}")
            assert user["isAdmin"] is False, f"self sign-up of {name} made an admin: {user}"
            self.people[name] = Person(name, user, tokens)
        return self.people[name]

    def as_admin(self, method: str, path: str, body: Any = None, status: int = 200, what: str = "") -> dict:
        return expect(self.server.call(method, path, self.admin["id"], json=body), status, what or f"admin {method} {path}")

    def admin_patch(self, path: str, ops: list[dict], what: str) -> dict:
        return expect(patch(self.server, path, self.admin["id"], ops), 200, what)

    def role(self, name: str) -> dict:
        return self.as_admin("GET", f"/api/v1/roles/name/{name}", what=f"admin reads role {name}")

    def table(self, name: str, owners: list[dict] | None = None) -> dict:
        """A table in the bot's schema, created by the bot."""
        body = {"name": name, "databaseSchema": self.schema, "columns": columns(), "owners": owners or []}
        return expect(self.server.call("PUT", "/api/v1/tables", self.bot, json=body), 201, f"the bot creates table {name}")


def admin_reads_bot_token(server: Ferrometa, admin: str) -> str:
    bot_user_id = ingestion_bot_user_id(server, admin)
    body = expect(server.get(f"/api/v1/users/token/{bot_user_id}", admin), 200, "the admin principal reads the ingestion-bot token")
    assert body.get("JWTToken", "").count(".") == 2, f"users/token gave no JWT: {body}"
    return body["JWTToken"]


@pytest.fixture(scope="module")
def org(start_module_ferrometa, cognito: Cognito) -> Org:
    server = start_module_ferrometa(cognito.guide_env())
    admin = cognito.tokens("admin")
    for kind in ("id", "access"):  # the ID token binds the bootstrapped admin first
        me = logged_in(server, admin[kind], f"the admin principal's {kind} token")
        assert me["name"] == "admin" and me["isAdmin"] is True, f"the admin principal's {kind} token is not the admin: {me}"
    bot = admin_reads_bot_token(server, admin["id"])
    for path, body in [
        ("/api/v1/services/databaseServices", {"name": "access_svc", "serviceType": "Mysql"}),
        ("/api/v1/databases", {"name": "access_db", "service": "access_svc"}),
        ("/api/v1/databaseSchemas", {"name": "access_sch", "database": "access_svc.access_db"}),
    ]:
        expect(server.call("PUT", path, bot, json=body), 201, f"the ingestion bot creates {body['name']}")
    return Org(server=server, cognito=cognito, admin=admin, bot=bot, schema="access_svc.access_db.access_sch")


# --------------------------------------------------------------------------------------------
# 1. seeded roles x resource families x operations
# --------------------------------------------------------------------------------------------

ALLOWED, REFUSED = "allowed", "refused"
A, R = ALLOWED, REFUSED


@dataclass
class Family:
    collection: str
    create: Callable[[Org, str], dict]


FAMILIES = [
    Family("tables", lambda o, n: {"name": n, "databaseSchema": o.schema, "columns": columns()}),
    Family("services/databaseServices", lambda o, n: {"name": n, "serviceType": "Mysql"}),
    Family("classifications", lambda o, n: {"name": n, "description": "d"}),
    Family("teams", lambda o, n: {"name": n, "teamType": "Group"}),
    Family("roles", lambda o, n: {"name": n, "policies": ["DataConsumerPolicy"]}),
    Family("policies", lambda o, n: {"name": n, "rules": [{"name": "r", "effect": "allow", "operations": ["ViewBasic"], "resources": ["table"]}]}),
]

# What each seeded standing may do, per family (tables, services, classifications, teams,
# roles, policies): exactly the expectations of the Rust table
# `seeded_roles_times_resources_times_operations`.
DATA, NONE, EVERYTHING = [A, A, A, A, R, R], [R] * 6, [A] * 6
EXPECTED: dict[str, dict[str, list[str]]] = {
    "consumer": {"view": EVERYTHING, "describe": DATA, "rename": NONE, "create": NONE, "delete": NONE},
    "steward": {"view": EVERYTHING, "describe": DATA, "rename": DATA, "create": NONE, "delete": NONE},
    "bot": {"view": EVERYTHING, "describe": DATA, "rename": DATA, "create": DATA, "delete": DATA},
    "admin": {"view": EVERYTHING, "describe": EVERYTHING, "rename": EVERYTHING, "create": EVERYTHING, "delete": EVERYTHING},
}


def attempt(o: Org, family: Family, op: str, token: str) -> tuple[str, str]:
    """Runs ``op`` on a fresh entity of ``family`` (made by the admin) as ``token``; returns
    (allowed | refused | unexpected, what the server said)."""
    base = f"/api/v1/{family.collection}"
    name = o.unique("grid")
    entity = expect(o.server.call("POST", base, o.admin["id"], json=family.create(o, name)), 201, f"admin creates {base} {name}")
    item = f"{base}/{entity['id']}"
    resp = {
        "view": lambda: o.server.get(item, token),
        "describe": lambda: patch(o.server, item, token, describe("described")),
        "rename": lambda: patch(o.server, item, token, display_name("Renamed")),
        "create": lambda: o.server.call("POST", base, token, json=family.create(o, f"{name}new")),
        "delete": lambda: o.server.call("DELETE", item, token),
    }[op]()
    if resp.ok:
        return ALLOWED, show(resp)
    if resp.status_code == 403:
        message = resp.json().get("message", "")
        if message.startswith(PRINCIPAL_PREFIX):  # OpenMetadata's refusals name the principal
            return REFUSED, message
        return "403 with an unexpected message", show(resp)
    return "unexpected", show(resp)


def test_seeded_roles_times_resources_times_operations_with_cognito_tokens(org: Org):
    """Cognito users with the Organization's default role (DataConsumer) and with DataSteward,
    each with its ID and its access token, the ingestion bot's JWT and the admin principal's
    Cognito tokens: every operation on every resource family, collected, then judged once."""
    consumer, steward = org.person("grid-consumer"), org.person("grid-steward")
    org.admin_patch(f"{USERS}/{steward.id}", [{"op": "add", "path": "/roles", "value": [ref(org.role("DataSteward"), "role")]}],
                    "the admin gives grid-steward the role DataSteward")
    me = logged_in(org.server, steward.tokens["id"], "grid-steward after the role change")
    assert [r["name"] for r in me.get("roles", [])] == ["DataSteward"], f"grid-steward's roles after the admin's PATCH: {me.get('roles')}"
    me = logged_in(org.server, consumer.tokens["access"], "grid-consumer's access token")
    assert me["id"] == consumer.id and not me.get("roles"), f"grid-consumer should be a plain user (DataConsumer by the Organization): {me}"

    subjects = [
        ("consumer", "grid-consumer's ID token", consumer.tokens["id"]),
        ("consumer", "grid-consumer's access token", consumer.tokens["access"]),
        ("steward", "grid-steward's ID token", steward.tokens["id"]),
        ("steward", "grid-steward's access token", steward.tokens["access"]),
        ("bot", "the ingestion bot's JWT", org.bot),
        ("admin", "the admin principal's ID token", org.admin["id"]),
        ("admin", "the admin principal's access token", org.admin["access"]),
    ]
    wrong, cases = [], 0
    for standing, who, token in subjects:
        for op, per_family in EXPECTED[standing].items():
            for family, expected in zip(FAMILIES, per_family, strict=True):
                cases += 1
                got, said = attempt(org, family, op, token)
                if got != expected:
                    wrong.append(f"{who} ({standing}) {op} {family.collection}: expected {expected}, got {got}: {said}")
    assert cases == 7 * 5 * 6
    assert not wrong, f"{len(wrong)} of {cases} cases differ from the seeded roles' rules:\n" + "\n".join(wrong)


def test_deny_wins_over_every_allow_for_a_cognito_user(org: Org):
    """A role whose policy denies EditDescription on tables beats DataConsumer's allow, at once
    and for both of the user's tokens, with OpenMetadata's message naming role, policy and rule."""
    server, who = org.server, org.person("denied")
    table = org.table(org.unique("deny"))
    path = f"/api/v1/tables/{table['id']}"
    expect(patch(server, path, who.tokens["id"], describe("before")), 200, "a DataConsumer describes a table (before the deny role)")

    org.as_admin("POST", "/api/v1/policies", {"name": "P", "rules": [{"name": "D", "effect": "deny", "operations": ["EditDescription"], "resources": ["table"]}]},
                 201, "admin creates policy P (deny EditDescription on table)")
    role = org.as_admin("POST", "/api/v1/roles", {"name": "R", "policies": ["P"]}, 201, "admin creates role R")
    org.admin_patch(f"{USERS}/{who.id}", [{"op": "add", "path": "/roles", "value": [ref(role, "role")]}], "admin gives denied the role R")

    denied = f"{principal('denied')} operation EditDescription denied by role R, policy P, rule D"
    for kind in ("id", "access"):
        expect_error(patch(server, path, who.tokens[kind], describe(f"after, {kind}")), 403,
                     f"denied's {kind} token describing a table with a deny role (cached token, right after the change)", exact=denied)
    expect(server.get(path, who.tokens["id"]), 200, "the deny role does not take away reading")
    got = org.as_admin("GET", path, what="admin reads the table")
    assert got.get("description") == "before", f"a denied PATCH changed the description: {got.get('description')!r}"


def test_owners_rename_and_delete_what_they_own_and_nobody_else_does(org: Org):
    server, owner, stranger = org.server, org.person("owner"), org.person("stranger")
    table = org.table(org.unique("owned"), owners=[ref(owner.user, "user")])
    path = f"/api/v1/tables/{table['id']}"
    expect_error(patch(server, path, stranger.tokens["id"], display_name("Not mine")), 403, "a stranger renames someone's table",
                 exact=not_allowed("stranger", "EditDisplayName"))
    expect_error(patch(server, path, stranger.tokens["access"], display_name("Not mine")), 403, "a stranger's access token renames someone's table",
                 exact=not_allowed("stranger", "EditDisplayName"))
    expect_error(server.call("DELETE", path, stranger.tokens["id"]), 403, "a stranger deletes someone's table",
                 exact=not_allowed("stranger", "Delete"))

    renamed = expect(patch(server, path, owner.tokens["id"], display_name("Mine")), 200, "the owner renames its table (ID token)")
    assert renamed.get("displayName") == "Mine", f"the owner's rename did not apply: {renamed}"
    expect(patch(server, path, owner.tokens["access"], display_name("Still mine")), 200, "the owner renames its table (access token)")
    expect(server.call("DELETE", path, owner.tokens["access"]), 200, "the owner deletes its table (access token)")
    deleted = org.as_admin("GET", f"{path}?include=all", what="admin reads the deleted table")
    assert deleted.get("deleted") is True, f"the owner's DELETE did not delete the table: {deleted}"


def test_default_roles_of_a_department_reach_a_cognito_user_in_a_group_under_it(org: Org):
    server, member = org.server, org.person("member")
    table = org.table(org.unique("inherit"))
    path = f"/api/v1/tables/{table['id']}"
    expect_error(patch(server, path, member.tokens["id"], display_name("Too early")), 403, "a plain user renames (before joining the team)",
                 exact=not_allowed("member", "EditDisplayName"))

    steward = org.role("DataSteward")
    dept = org.as_admin("POST", "/api/v1/teams", {"name": "AccessStewards", "teamType": "Department", "defaultRoles": [steward["id"]]}, 201,
                        "admin creates a department with default role DataSteward")
    group = org.as_admin("POST", "/api/v1/teams", {"name": "AccessAnalysts", "teamType": "Group", "parents": [dept["id"]]}, 201,
                         "admin creates a group under it")
    org.admin_patch(f"{USERS}/{member.id}", [{"op": "add", "path": "/teams", "value": [ref(group, "team")]}], "admin puts member into the group")

    me = expect(server.get(f"{USERS}/{member.id}?fields=teams,roles,inheritedRoles", member.tokens["id"]), 200, "member reads itself")
    assert [t["name"] for t in me.get("teams", [])] == ["AccessAnalysts"], f"member's teams: {me.get('teams')}"
    assert "DataSteward" in [r["name"] for r in me.get("inheritedRoles", [])], f"DataSteward is not among member's inherited roles: {me.get('inheritedRoles')}"
    for kind in ("id", "access"):
        expect(patch(server, path, member.tokens[kind], display_name(f"Renamed by a steward ({kind})")), 200,
               f"member's {kind} token renames with DataSteward inherited from the department")
    outsider = org.person("outsider")
    expect_error(patch(server, path, outsider.tokens["id"], display_name("x")), 403, "a user in no team renames",
                 exact=not_allowed("outsider", "EditDisplayName"))


# --------------------------------------------------------------------------------------------
# 2. the holes of issue 14
# --------------------------------------------------------------------------------------------


def test_a_root_path_patch_does_not_make_a_cognito_user_admin_or_bot(org: Org):
    server, climber = org.server, org.person("climber")
    me = f"{USERS}/{climber.id}"
    bot_user_id = ingestion_bot_user_id(server, org.admin["id"])
    own = expect(server.get(me, climber.tokens["id"]), 200, "climber reads its own user")
    attempts = [
        ("replace", "id", {**own, "isAdmin": True}, "replace the root with isAdmin true"),
        ("add", "id", {**own, "isAdmin": True}, "add on the root with isAdmin true"),
        ("replace", "access", {**own, "isAdmin": True}, "replace the root with isAdmin true (access token)"),
        ("replace", "id", {**own, "isBot": True}, "replace the root with isBot true"),
        ("add", "access", {**own, "isBot": True}, "add on the root with isBot true (access token)"),
    ]
    for op, kind, value, what in attempts:
        expect_error(patch(server, me, climber.tokens[kind], [{"op": op, "path": "", "value": value}]), 403, f"climber: {what}",
                     exact=not_admin("climber"))
    steward = org.role("DataSteward")
    expect_error(patch(server, me, climber.tokens["id"], [{"op": "add", "path": "/roles", "value": [ref(steward, "role")]}]), 403,
                 "climber gives itself DataSteward", exact=not_admin("climber"))

    after = org.as_admin("GET", f"{me}?fields=roles,teams", what="admin reads climber")
    assert (after["isAdmin"], after.get("isBot"), after.get("roles", [])) == (False, False, []), f"a refused patch changed climber: {after}"
    assert after["version"] == own["version"], f"climber's version moved from {own['version']} to {after['version']}"
    for kind in ("id", "access"):
        assert logged_in(server, climber.tokens[kind], f"climber's {kind} token")["isAdmin"] is False
        expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", climber.tokens[kind]), 403,
                     f"climber's {kind} token reads the bot token", exact=not_admin("climber"))
    expect(patch(server, me, climber.tokens["id"], describe("I describe myself")), 200, "climber still describes itself")


USER_DELETED = "Not Authorized! The user of this token was deleted; sign in again"


def refused_after_deletion(resp: requests.Response, what: str, *allowed: tuple[int, str]) -> None:
    """A token issued before its user was deleted is refused by its ``iat`` (401 USER_DELETED),
    except one issued in the very second of the deletion (``iat`` has no finer grain): that one
    gets the answer of a token issued afterwards, one of ``allowed``. Never a read."""
    got = (resp.status_code, resp.json().get("message") if resp.headers.get("content-type", "").startswith("application/json") else None)
    expected = [(401, USER_DELETED), *allowed]
    assert got in expected, f"{what}: expected one of {expected}: {show(resp)}"
    print(f"[{resp.status_code}] {what}: {got[1]}")


def test_a_deleted_cognito_users_cached_token_reads_nothing_and_does_not_come_back_as_admin(org: Org):
    server, cognito, leaver = org.server, org.cognito, org.person("leaver")
    bot_user_id = ingestion_bot_user_id(server, org.admin["id"])
    org.admin_patch(f"{USERS}/{leaver.id}", [{"op": "replace", "path": "/isAdmin", "value": True}], "the admin makes leaver an admin")
    cached = leaver.tokens  # ID and access tokens from before the deletion, valid at the IdP for an hour
    # And one that is surely older than the deletion: leaver's ID token as issued a minute ago.
    now = int(time.time())
    older = cognito.mint(cognito.id_claims("leaver", iat=now - 60, auth_time=now - 60))
    expect(server.get("/api/v1/tables", older), 200, "leaver's minute-old ID token before the deletion")
    for path in CATALOG_READS + [f"/api/v1/users/token/{bot_user_id}"]:
        expect(server.get(path, cached["id"]), 200, f"leaver (admin) on {path} before the deletion")

    org.as_admin("DELETE", f"{USERS}/{leaver.id}", what="admin soft-deletes leaver")
    is_deleted = "Not Authorized! User leaver is deleted"
    for kind in ("id", "access"):
        for path in CATALOG_READS + [f"/api/v1/users/token/{bot_user_id}", LOGGED_IN]:
            refused_after_deletion(server.get(path, cached[kind]), f"soft-deleted leaver's cached {kind} token on {path}", (401, is_deleted))
    for path in CATALOG_READS + [LOGGED_IN]:
        expect_401(server.get(path, older), f"soft-deleted leaver's minute-old ID token on {path}", exact=USER_DELETED)
    # Signing in again at Cognito (the Cognito user still exists) gets a deleted user's answer.
    again = cognito.tokens("leaver")
    for kind in ("id", "access"):
        for path in CATALOG_READS + [LOGGED_IN]:
            expect_401(server.get(path, again[kind]), f"soft-deleted leaver's fresh {kind} token on {path}", exact=is_deleted)
    expect_401(server.call("POST", USERS, again["id"], json={"name": "leaver", "email": f"leaver@{DOMAIN}"}),
               "soft-deleted leaver signs up again with a fresh ID token", exact=is_deleted)

    org.as_admin("DELETE", f"{USERS}/{leaver.id}?hardDelete=true", what="admin hard-deletes leaver")
    expect_error(server.get(f"{USERS}/name/leaver", org.admin["id"]), 404, "user leaver after the hard delete")
    not_signed_up = "User leaver has not signed up yet: sign up first (POST /api/v1/users)"
    for kind in ("id", "access"):
        for path in CATALOG_READS + [f"/api/v1/users/token/{bot_user_id}"]:
            refused_after_deletion(server.get(path, cached[kind]), f"hard-deleted leaver's cached {kind} token on {path}", (403, not_signed_up))
    for path in CATALOG_READS:
        expect_401(server.get(path, older), f"hard-deleted leaver's minute-old ID token on {path}", exact=USER_DELETED)
    expect_401(server.call("POST", USERS, older, json={"name": "leaver", "email": f"leaver@{DOMAIN}"}),
               "hard-deleted leaver signs up with its minute-old ID token", exact=USER_DELETED)
    resp = server.call("POST", USERS, cached["id"], json={"name": "leaver", "email": f"leaver@{DOMAIN}"})
    refused_after_deletion(resp, "hard-deleted leaver signs up with its cached ID token", (201, None))

    # Whatever the cached token got, the Cognito user may sign up again: as a new, plain user.
    fresh = cognito.tokens("leaver")
    if resp.status_code == 201:
        back = resp.json()
    else:
        for path in CATALOG_READS:
            expect_error(server.get(path, fresh["id"]), 403, f"hard-deleted leaver's fresh ID token on {path}", exact=not_signed_up)
        back = sign_up(server, fresh["id"], "leaver", f"leaver@{DOMAIN}")
    assert back["id"] != leaver.id, f"the hard-deleted user came back with its old id: {back}"
    assert back["isAdmin"] is False, f"the hard-deleted admin leaver came back as an admin: {back}"
    for kind in ("id", "access"):
        assert logged_in(server, fresh[kind], f"leaver's fresh {kind} token after signing up again")["isAdmin"] is False
        expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", fresh[kind]), 403,
                     f"leaver's fresh {kind} token reads the bot token after signing up again", exact=not_admin("leaver"))


def test_a_hard_deleted_admin_principal_is_not_claimed_again_by_email(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHORIZER_ADMIN_PRINCIPALS="[admin, alice]"))
    cognito.add_user("alice-elsewhere", "alice@example.com", email_verified=True)
    admin = cognito.id_token("admin")
    assert logged_in(server, admin, "the admin principal admin")["isAdmin"] is True
    bot_user_id = ingestion_bot_user_id(server, admin)
    alice = expect(server.get(f"{USERS}/name/alice", admin), 200, "the bootstrapped admin principal alice")
    assert alice["isAdmin"] is True, f"the bootstrap did not make alice an admin: {alice}"
    expect(server.call("DELETE", f"{USERS}/{alice['id']}?hardDelete=true", admin), 200, "admin hard-deletes the admin principal alice")
    expect_error(server.get(f"{USERS}/name/alice", admin), 404, "alice after the hard delete")

    for username, email in [("alice-elsewhere", "alice@example.com"), ("alice", f"alice@{DOMAIN}")]:
        tokens = cognito.tokens(username)
        claims = cognito.claims(tokens["id"])
        assert (claims["email"], claims["email_verified"]) in ((email, "true"), (email, True)), f"fixture: {username}'s ID token: {claims}"
        created = sign_up(server, tokens["id"], "alice", email)
        assert created["isAdmin"] is False, f"{email} claimed the deleted admin principal alice at sign-up: {created}"
        assert logged_in(server, tokens["id"], f"alice ({email}) after sign-up")["isAdmin"] is False
        expect_error(server.get(f"/api/v1/users/token/{bot_user_id}", tokens["id"]), 403, f"alice ({email}) reads the bot token",
                     exact=not_admin("alice"))
        expect(server.call("DELETE", f"{USERS}/{created['id']}?hardDelete=true", admin), 200, f"admin hard-deletes alice ({email})")


def test_without_self_signup_an_unprovisioned_cognito_user_reaches_nothing(start_ferrometa, cognito: Cognito):
    server = start_ferrometa(cognito.guide_env(AUTHENTICATION_ENABLE_SELF_SIGNUP="false"))
    refused = "User alice is not provisioned and self-signup is disabled. Ask an administrator to create the user."
    tokens = cognito.tokens("alice")
    for kind in ("id", "access"):
        for path in CATALOG_READS + ["/api/v1/permissions"]:
            expect_error(server.get(path, tokens[kind]), 403, f"unprovisioned alice's {kind} token on {path} (self-signup off)", exact=refused)
    expect_error(server.call("POST", USERS, tokens["id"], json={"name": "alice", "email": f"alice@{DOMAIN}"}), 403,
                 "unprovisioned alice signs up (self-signup off)", "Self Signup is not enabled")
    expect_error(server.get(LOGGED_IN, tokens["id"]), 403, "loggedInUser of unprovisioned alice (self-signup off)", "self-signup is disabled")


# --------------------------------------------------------------------------------------------
# 3. the permissions API
# --------------------------------------------------------------------------------------------


def test_permissions_of_a_cognito_data_consumer(org: Org):
    consumer = org.person("perm-consumer")
    for kind in ("id", "access"):
        answer = expect(org.server.get("/api/v1/permissions/table", consumer.tokens[kind]), 200, f"perm-consumer's {kind} token: GET /permissions/table")
        assert answer.get("resource") == "table", f"permissions/table answered for {answer.get('resource')!r}"
        access = {p["operation"]: p for p in answer.get("permissions", [])}
        # Delete (like every other operation) only through OrganizationPolicy-Owner-Rule: isOwner().
        for op, expected in [("EditDescription", "allow"), ("Delete", "conditionalAllow"), ("ViewAll", "allow")]:
            assert op in access, f"{kind} token: no {op} in permissions/table: {sorted(access)}"
            assert access[op]["access"] == expected, f"{kind} token: {op} is {access[op]['access']!r}, expected {expected!r}: {access[op]}"
        assert access["EditDescription"].get("policy") == "DataConsumerPolicy" and access["EditDescription"].get("role") == "DataConsumer", \
            f"{kind} token: EditDescription should come from role DataConsumer, policy DataConsumerPolicy: {access['EditDescription']}"

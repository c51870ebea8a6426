//! Issue 14: OpenMetadata's roles and policies, decided in one place for every endpoint. The
//! conformance checklist of `openmetadata-authorization.md` §11 through the HTTP API with real
//! tokens (basic-auth users, the ingestion bot, a bot with the default bot role), a table of
//! seeded roles × resource families × operations, and the holes that handed out admin rights.

mod common;

use common::{Person, person};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn not_allowed(name: &str, operations: &str) -> String {
    format!("Principal: CatalogPrincipal{{name='{name}'}} operations [{operations}] not allowed")
}

fn user_ref(p: &Person) -> Value {
    json!([{"id": p.id, "type": "user"}])
}

fn columns() -> Value {
    json!([{"name": "id", "dataType": "INT"}, {"name": "email", "dataType": "VARCHAR", "dataLength": 64}])
}

fn create_table(name: &str, schema: &str, owners: Value) -> Value {
    json!({"name": name, "databaseSchema": schema, "columns": columns(), "owners": owners})
}

/// A request's status and OpenMetadata's message, for assertions that name both.
async fn call(s: &TestServer, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
    let (status, answer) = s.call(method, path, Some(token), body).await;
    (status, answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string()))
}

async fn patch(s: &TestServer, token: &str, path: &str, ops: Value) -> (StatusCode, String) {
    let (status, answer) = s.patch(path, token, ops).await;
    (status, answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string()))
}

fn ok() -> (StatusCode, String) {
    (StatusCode::OK, String::new())
}

/// Forgets the body of a success, keeps the message of a refusal.
fn outcome((status, message): (StatusCode, String)) -> (StatusCode, String) {
    if status.is_success() { (status, String::new()) } else { (status, message) }
}

/// The checklist's organisation: `u1` in group `G1` (under the Organization), `u2`, `outsider`
/// in no team; the ingestion bot's service, database and schema; tables `T0` (no owner), `T1`
/// (owned by u2), `T3` (owned by G1), `T4` (no owner, for the owner checks).
struct Org {
    s: TestServer,
    admin: String,
    bot: String,
    g1: Value,
    u1: Person,
    u2: Person,
    outsider: Person,
    tables: std::collections::HashMap<&'static str, String>,
}

impl Org {
    async fn start() -> Org {
        let s = TestServer::start(&[]).await;
        let admin = s.admin_token().await;
        let (_, bot) = s.ingestion_bot(&admin).await;
        let (status, g1) = s.call(Method::POST, "/api/v1/teams", Some(&admin), Some(json!({"name": "G1", "teamType": "Group"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{g1}");
        let u1 = person(&s, &admin, "u1", json!({"teams": [g1["id"]]})).await;
        let u2 = person(&s, &admin, "u2", json!({})).await;
        let outsider = person(&s, &admin, "outsider", json!({})).await;
        for (path, body) in [
            ("/api/v1/services/databaseServices", json!({"name": "svc", "serviceType": "Mysql"})),
            ("/api/v1/databases", json!({"name": "db", "service": "svc"})),
            ("/api/v1/databaseSchemas", json!({"name": "sch", "database": "svc.db"})),
        ] {
            let (status, answer) = s.call(Method::PUT, path, Some(&bot), Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
        }
        let mut tables = std::collections::HashMap::new();
        for (name, owners) in [("T0", json!([])), ("T1", user_ref(&u2)), ("T3", json!([{"id": g1["id"], "type": "team"}])), ("T4", json!([]))] {
            let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table(name, "svc.db.sch", owners))).await;
            assert_eq!(status, StatusCode::CREATED, "{name}: {t}");
            tables.insert(name, t["id"].as_str().unwrap().to_string());
        }
        Org { s, admin, bot, g1, u1, u2, outsider, tables }
    }

    fn table(&self, name: &str) -> String {
        format!("/api/v1/tables/{}", self.tables[name])
    }

    /// An entity read by the admin.
    async fn read(&self, path: &str) -> Value {
        let (status, entity) = self.s.get(path, Some(&self.admin)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {entity}");
        entity
    }

    /// Creates a policy (as the admin) and returns it.
    async fn policy(&self, name: &str, rules: Value) -> Value {
        let (status, policy) = self.s.call(Method::POST, "/api/v1/policies", Some(&self.admin), Some(json!({"name": name, "rules": rules}))).await;
        assert_eq!(status, StatusCode::CREATED, "{policy}");
        policy
    }

    async fn admin_patch(&self, path: &str, ops: Value) {
        let (status, answer) = self.s.patch(path, &self.admin, ops).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }

    async fn stop(self) {
        self.s.stop().await;
    }
}

fn describe(text: &str) -> Value {
    json!([{"op": "add", "path": "/description", "value": text}])
}

fn display_name(text: &str) -> Value {
    json!([{"op": "add", "path": "/displayName", "value": text}])
}

/// Checklist 1–8: consumers describe, owners (users and team members) do the rest, nobody
/// takes what someone else owns, PUT on an existing entity is EditAll, Create is judged on the
/// container.
#[tokio::test]
async fn edits_follow_ownership_and_the_seeded_roles() {
    let o = Org::start().await;
    let (s, u1, u2) = (&o.s, &o.u1, &o.u2);
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T1"), describe("x")).await), ok(), "1: a consumer describes what it does not own");
    assert_eq!(patch(s, &u1.token, &o.table("T1"), display_name("T")).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditDisplayName")), "2");
    assert_eq!(outcome(patch(s, &u2.token, &o.table("T1"), display_name("T")).await), ok(), "2: the owner");
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T3"), display_name("T")).await), ok(), "3: a member of the owning team");
    assert_eq!(patch(s, &o.outsider.token, &o.table("T3"), display_name("Other")).await, (StatusCode::FORBIDDEN, not_allowed("outsider", "EditDisplayName")), "3: not a member");
    assert_eq!(outcome(patch(s, &o.outsider.token, &o.table("T3"), display_name("T")).await), ok(), "a patch that changes nothing needs only ViewBasic");
    let own = json!([{"op": "add", "path": "/owners", "value": user_ref(u1)}]);
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T0"), own.clone()).await), ok(), "4: anyone sets the owner of what has none");
    assert_eq!(patch(s, &u1.token, &o.table("T1"), own).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditOwners")), "4: not of what someone owns");
    let both = json!([{"op": "add", "path": "/description", "value": "y"}, {"op": "add", "path": "/name", "value": "renamed"}]);
    assert_eq!(patch(s, &u1.token, &o.table("T1"), both).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditAll")), "5: any unmapped field is EditAll");
    let mut put = create_table("T1", "svc.db.sch", user_ref(u2));
    put["description"] = json!("changed by PUT");
    assert_eq!(call(s, &u1.token, Method::PUT, "/api/v1/tables", Some(put.clone())).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditAll")), "6: PUT of an existing entity");
    assert_eq!(outcome(call(s, &u2.token, Method::PUT, "/api/v1/tables", Some(put)).await), ok(), "6: by its owner");
    assert_eq!(call(s, &u1.token, Method::DELETE, &o.table("T1"), None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "Delete")), "7");
    // 8: Create is judged on the container: a schema u1 owns, and one u2 owns.
    for (schema, owner) in [("mine", u1), ("theirs", u2)] {
        let (status, answer) = s.call(Method::PUT, "/api/v1/databaseSchemas", Some(&o.bot), Some(json!({"name": schema, "database": "svc.db", "owners": user_ref(owner)}))).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    assert_eq!(outcome(call(s, &u1.token, Method::POST, "/api/v1/tables", Some(create_table("new", "svc.db.mine", json!([])))).await).0, StatusCode::CREATED, "8: into a schema u1 owns");
    assert_eq!(call(s, &u1.token, Method::POST, "/api/v1/tables", Some(create_table("new", "svc.db.theirs", json!([])))).await, (StatusCode::FORBIDDEN, not_allowed("u1", "Create")), "8");
    assert_eq!(outcome(call(s, &u2.token, Method::DELETE, &o.table("T1"), None).await), ok(), "7: the owner deletes");
    o.stop().await;
}

/// Checklist 9, 10 and 25: without the Organization's defaults nobody reads; a ViewBasic-only
/// grant reads basic fields only; an `isOwner()` view grant reads owned tables and the lists
/// filtered to an owned container, but not the unfiltered list.
#[tokio::test]
async fn reads_need_view_operations_of_their_fields() {
    let o = Org::start().await;
    let (s, u1) = (&o.s, &o.u1);
    assert_eq!(outcome(call(s, &u1.token, Method::GET, &format!("{}?fields=columns,owners,tags", o.table("T1")), None).await), ok(), "9");
    let org = o.read("/api/v1/teams/name/Organization").await;
    o.admin_patch(&format!("/api/v1/teams/{}", org["id"].as_str().unwrap()), json!([{"op": "add", "path": "/defaultRoles", "value": []}])).await;
    let org_policy = o.read("/api/v1/policies/name/OrganizationPolicy").await;
    let rules: Vec<Value> = org_policy["rules"].as_array().unwrap().iter().filter(|r| r["name"] != "OrganizationPolicy-ViewAll-Rule").cloned().collect();
    o.admin_patch(&format!("/api/v1/policies/{}", org_policy["id"].as_str().unwrap()), json!([{"op": "replace", "path": "/rules", "value": rules}])).await;
    assert_eq!(call(s, &u1.token, Method::GET, &o.table("T1"), None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "ViewBasic")), "9: no defaults, no reading");
    let basic = o.policy("BasicTables", json!([{"name": "basic", "effect": "allow", "operations": ["ViewBasic"], "resources": ["table"]}])).await;
    let (status, role) = s.call(Method::POST, "/api/v1/roles", Some(&o.admin), Some(json!({"name": "Basic", "policies": [basic["name"]]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    o.admin_patch(&format!("/api/v1/users/{}", u1.id), json!([{"op": "add", "path": "/roles", "value": [{"id": role["id"], "type": "role"}]}])).await;
    assert_eq!(outcome(call(s, &u1.token, Method::GET, &format!("{}?fields=owners", o.table("T1")), None).await), ok(), "10");
    assert_eq!(call(s, &u1.token, Method::GET, &format!("{}?fields=usageSummary", o.table("T1")), None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "ViewUsage")), "10");
    assert_eq!(call(s, &u1.token, Method::GET, &format!("{}?fields=profile", o.table("T1")), None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "ViewAll")), "10");
    // 25: only an isOwner() grant.
    let own = o.policy("OwnView", json!([{"name": "own", "effect": "allow", "operations": ["ViewAll"], "resources": ["All"], "condition": "isOwner()"}])).await;
    o.admin_patch(&format!("/api/v1/roles/{}", role["id"].as_str().unwrap()), json!([{"op": "replace", "path": "/policies", "value": [{"id": own["id"], "type": "policy"}]}])).await;
    let (status, answer) = s.call(Method::PUT, "/api/v1/databaseSchemas", Some(&o.bot), Some(json!({"name": "mine", "database": "svc.db", "owners": user_ref(u1)}))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, mine) = s.call(Method::PUT, "/api/v1/tables", Some(&o.bot), Some(create_table("owned", "svc.db.mine", user_ref(u1)))).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!(outcome(call(s, &u1.token, Method::GET, &format!("/api/v1/tables/{}", mine["id"].as_str().unwrap()), None).await), ok(), "25: own table");
    assert_eq!(call(s, &u1.token, Method::GET, "/api/v1/tables", None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "ViewBasic")), "25: no entity, no owner");
    assert_eq!(outcome(call(s, &u1.token, Method::GET, "/api/v1/tables?databaseSchema=svc.db.mine", None).await), ok(), "25: list under an owned schema");
    o.stop().await;
}

/// Checklist 11, 12 and 26: a deny rule beats every allow and names how it was reached (a
/// role, or a policy attached to a team); TeamOnlyPolicy fences a team's tables.
#[tokio::test]
async fn deny_wins_and_names_its_role_or_team() {
    let o = Org::start().await;
    let (s, u1) = (&o.s, &o.u1);
    let deny = o.policy("P", json!([{"name": "D", "effect": "deny", "operations": ["EditDescription"], "resources": ["table"]}])).await;
    let (status, role) = s.call(Method::POST, "/api/v1/roles", Some(&o.admin), Some(json!({"name": "R", "policies": ["P"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    o.admin_patch(&format!("/api/v1/users/{}", u1.id), json!([{"op": "add", "path": "/roles", "value": [{"id": role["id"], "type": "role"}]}])).await;
    let denied_by_role = "Principal: CatalogPrincipal{name='u1'} operation EditDescription denied by role R, policy P, rule D";
    assert_eq!(patch(s, &u1.token, &o.table("T0"), describe("x")).await, (StatusCode::FORBIDDEN, denied_by_role.to_string()), "11");
    o.admin_patch(&format!("/api/v1/users/{}", u1.id), json!([{"op": "add", "path": "/roles", "value": []}])).await;
    let g1 = format!("/api/v1/teams/{}", o.g1["id"].as_str().unwrap());
    o.admin_patch(&g1, json!([{"op": "add", "path": "/policies", "value": [{"id": deny["id"], "type": "policy"}]}])).await;
    let denied_by_team = "Principal: CatalogPrincipal{name='u1'} operation EditDescription denied policy P, rule D";
    assert_eq!(patch(s, &u1.token, &o.table("T0"), describe("x")).await, (StatusCode::FORBIDDEN, denied_by_team.to_string()), "12");
    let fence = o.read("/api/v1/policies/name/TeamOnlyPolicy").await;
    o.admin_patch(&g1, json!([{"op": "add", "path": "/policies", "value": [{"id": fence["id"], "type": "policy"}]}])).await;
    assert_eq!(outcome(call(s, &u1.token, Method::GET, &o.table("T3"), None).await), ok(), "26: a member reads its team's table");
    let fenced = "Principal: CatalogPrincipal{name='outsider'} operation ViewBasic denied policy TeamOnlyPolicy, rule TeamOnlyPolicy-Rule";
    assert_eq!(call(s, &o.outsider.token, Method::GET, &o.table("T3"), None).await, (StatusCode::FORBIDDEN, fenced.to_string()), "26: an outsider does not");
    assert_eq!(outcome(call(s, &o.outsider.token, Method::GET, &o.table("T0"), None).await), ok(), "26: other tables stay readable");
    o.stop().await;
}

fn label(fqn: &str) -> Value {
    json!({"tagFQN": fqn, "source": "Classification", "labelType": "Manual", "state": "Confirmed"})
}

/// Checklist 13 and a conditional rule: each tag label needs the operation of its kind
/// (`Tier.*` EditTier, a classification tag EditTags); a `matchAnyTag` deny hides tagged tables.
#[tokio::test]
async fn tags_need_their_own_operations_and_conditions_read_them() {
    let o = Org::start().await;
    let (s, u1) = (&o.s, &o.u1);
    // `PII.Sensitive` and `Tier.Tier1` are seeded, as in OpenMetadata.
    let add = |fqn: &str| json!([{"op": "add", "path": "/tags/-", "value": label(fqn)}]);
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T1"), json!([{"op": "add", "path": "/tags", "value": [label("PII.Sensitive")]}])).await), ok(), "13: a classification tag");
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T1"), add("Tier.Tier1")).await), ok(), "13: a tier");
    let consumer = o.read("/api/v1/policies/name/DataConsumerPolicy").await;
    let rule = json!([{"name": "DataConsumerPolicy-EditRule", "effect": "allow", "resources": ["All"], "operations": ["ViewAll", "EditDescription", "EditTags", "EditGlossaryTerms"]}]);
    o.admin_patch(&format!("/api/v1/policies/{}", consumer["id"].as_str().unwrap()), json!([{"op": "replace", "path": "/rules", "value": rule}])).await;
    assert_eq!(patch(s, &u1.token, &o.table("T0"), json!([{"op": "add", "path": "/tags", "value": [label("Tier.Tier1")]}])).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditTier")), "13: no EditTier");
    assert_eq!(outcome(patch(s, &u1.token, &o.table("T0"), json!([{"op": "add", "path": "/tags", "value": [label("PII.Sensitive")]}])).await), ok(), "13: EditTags still");
    o.policy("NoPii", json!([{"name": "hide-pii", "effect": "deny", "operations": ["ViewAll"], "resources": ["table"], "condition": "matchAnyTag('PII.Sensitive') && !isOwner()"}])).await;
    let (status, _) = s.call(Method::POST, "/api/v1/roles", Some(&o.admin), Some(json!({"name": "PiiFence", "policies": ["NoPii"]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let org = o.read("/api/v1/teams/name/Organization?fields=defaultRoles").await;
    let pii_fence = o.read("/api/v1/roles/name/PiiFence").await;
    let mut roles = org["defaultRoles"].as_array().cloned().unwrap_or_default();
    roles.push(json!({"id": pii_fence["id"], "type": "role"}));
    o.admin_patch(&format!("/api/v1/teams/{}", org["id"].as_str().unwrap()), json!([{"op": "add", "path": "/defaultRoles", "value": roles}])).await;
    let hidden = "Principal: CatalogPrincipal{name='outsider'} operation ViewBasic denied by role PiiFence, policy NoPii, rule hide-pii";
    assert_eq!(call(s, &o.outsider.token, Method::GET, &o.table("T1"), None).await, (StatusCode::FORBIDDEN, hidden.to_string()), "tagged PII: hidden from everyone");
    assert_eq!(outcome(call(s, &o.u2.token, Method::GET, &o.table("T1"), None).await), ok(), "but its owner");
    assert_eq!(outcome(call(s, &o.outsider.token, Method::GET, &o.table("T3"), None).await), ok(), "untagged tables stay readable");
    o.stop().await;
}

/// Checklist 14–18: the permissions API answers with the same rules, at type level and on an
/// entity; only admins ask for someone else.
#[tokio::test]
async fn permissions_answer_from_the_same_rules() {
    let o = Org::start().await;
    let (s, u1, u2) = (&o.s, &o.u1, &o.u2);
    let access = |answer: &Value, op: &str| answer["permissions"].as_array().unwrap().iter().find(|p| p["operation"] == op).cloned().unwrap_or_else(|| panic!("{op} in {answer}"));
    let (status, all) = s.get("/api/v1/permissions", Some(&u1.token)).await;
    assert_eq!(status, StatusCode::OK, "14: {all}");
    let resources: Vec<&str> = all["data"].as_array().unwrap().iter().filter_map(|r| r["resource"].as_str()).collect();
    assert!(resources.contains(&"all") && resources.contains(&"table"), "14: {resources:?}");
    let table = all["data"].as_array().unwrap().iter().find(|r| r["resource"] == "table").unwrap();
    let view = access(table, "ViewAll");
    assert_eq!(view["access"], json!("allow"));
    assert!(["DataConsumerPolicy", "OrganizationPolicy"].contains(&view["policy"].as_str().unwrap()), "14: {view}");
    let (_, of_type) = s.get("/api/v1/permissions/table", Some(&u1.token)).await;
    for (op, expected) in [("EditDescription", "allow"), ("Delete", "conditionalAllow"), ("EditOwners", "conditionalAllow"), ("Create", "conditionalAllow")] {
        assert_eq!(access(&of_type, op)["access"], json!(expected), "15: {op}");
    }
    let t1 = format!("/api/v1/permissions/table/{}", o.tables["T1"]);
    let (_, theirs) = s.get(&t1, Some(&u1.token)).await;
    assert_eq!((access(&theirs, "Delete")["access"].clone(), access(&theirs, "EditDescription")["access"].clone()), (json!("notAllow"), json!("allow")), "16");
    let (_, mine) = s.get(&t1, Some(&u2.token)).await;
    let delete = access(&mine, "Delete");
    assert_eq!((delete["access"].clone(), delete["rule"]["name"].clone()), (json!("allow"), json!("OrganizationPolicy-Owner-Rule")), "16: the owner");
    let (_, by_name) = s.get("/api/v1/permissions/table/name/svc.db.sch.T1", Some(&u2.token)).await;
    assert_eq!(access(&by_name, "Delete")["access"], json!("allow"), "by name");
    assert_eq!(call(s, &u1.token, Method::GET, "/api/v1/permissions?user=u2", None).await, (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='u1'} is not admin".to_string()), "17");
    let (status, _) = s.get("/api/v1/permissions?user=u2", Some(&o.admin)).await;
    assert_eq!(status, StatusCode::OK, "17: admin");
    let (_, admin_view) = s.get(&t1, Some(&o.admin)).await;
    assert!(admin_view["permissions"].as_array().unwrap().iter().all(|p| p["access"] == "allow" && p.get("rule").is_none() && p.get("policy").is_none()), "18: {admin_view}");
    let (status, answer) = s.get("/api/v1/permissions/unicorn", Some(&u1.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown resource: {answer}");
    // What some policies alone give, whoever asks (ViewAll on each policy needed).
    let steward = o.read("/api/v1/policies/name/DataStewardPolicy").await;
    let (status, alone) = s.get(&format!("/api/v1/permissions/policies?ids={}", steward["id"].as_str().unwrap()), Some(&u1.token)).await;
    assert_eq!(status, StatusCode::OK, "{alone}");
    let table = alone["data"].as_array().unwrap().iter().find(|r| r["resource"] == "table").unwrap();
    assert_eq!((access(table, "EditDisplayName")["access"].clone(), access(table, "Delete")["access"].clone()), (json!("allow"), json!("notAllow")), "DataStewardPolicy alone");
    o.stop().await;
}

/// Checklist 19–22: conditions are checked where policies are written; policies and roles are
/// normalised and checked; the seeded ones stay.
#[tokio::test]
async fn policies_and_roles_are_checked_where_they_are_written() {
    let o = Org::start().await;
    let (s, admin, u1) = (&o.s, &o.admin, &o.u1);
    let validate = |expr: &str| format!("/api/v1/policies/validation/condition/{expr}");
    assert_eq!(s.get(&validate("isOwner()"), Some(admin)).await.0, StatusCode::NO_CONTENT, "19");
    let (status, parse) = call(s, admin, Method::GET, &validate("isOwner("), None).await;
    assert!(status == StatusCode::BAD_REQUEST && parse.starts_with("Failed to parse - "), "19: {status} {parse}");
    let (status, eval) = call(s, admin, Method::GET, &validate("fooBar()"), None).await;
    assert!(status == StatusCode::BAD_REQUEST && eval.starts_with("Failed to evaluate - "), "19: {status} {eval}");
    let (status, missing) = call(s, admin, Method::GET, &validate("matchAnyTag('No.Such')"), None).await;
    assert!(status == StatusCode::BAD_REQUEST && missing.starts_with("Failed to evaluate - "), "19: a tag that does not exist: {missing}");
    assert_eq!(call(s, &u1.token, Method::GET, &validate("isOwner()"), None).await, (StatusCode::FORBIDDEN, not_allowed("u1", "EditAll")), "19");
    let (_, functions) = s.get("/api/v1/policies/functions", Some(&u1.token)).await;
    let mut names: Vec<&str> = functions["data"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["hasAnyRole", "hasDomain", "inAnyTeam", "isOwner", "matchAllTags", "matchAnyTag", "matchTeam", "noOwner"], "20");
    let (_, resources) = s.get("/api/v1/policies/resources", Some(&u1.token)).await;
    let ops_of = |name: &str| resources["data"].as_array().unwrap().iter().find(|r| r["name"] == name).map(|r| r["operations"].as_array().unwrap().len());
    assert_eq!((ops_of("all"), ops_of("table")), (Some(43), Some(24)), "20");
    assert_eq!(call(s, admin, Method::POST, "/api/v1/policies", Some(json!({"name": "Empty", "rules": []}))).await, (StatusCode::BAD_REQUEST, "At least one rule is required in a policy".to_string()), "21");
    let p = o.policy("Norm", json!([{"name": "r", "effect": "allow", "resources": ["table", "All"], "operations": ["ViewAll", "ViewBasic", "EditAll", "EditTags"]}])).await;
    assert_eq!((p["rules"][0]["resources"].clone(), p["rules"][0]["operations"].clone()), (json!(["All"]), json!(["EditAll", "ViewAll"])), "21");
    let (status, bad) = call(s, admin, Method::POST, "/api/v1/policies", Some(json!({"name": "Bad", "rules": [{"name": "r", "effect": "allow", "resources": ["All"], "operations": ["ViewAll"], "condition": "isOwner("}]}))).await;
    assert!(status == StatusCode::BAD_REQUEST && bad.starts_with("Failed to parse - "), "a policy with a broken condition is refused: {bad}");
    assert_eq!(call(s, admin, Method::POST, "/api/v1/roles", Some(json!({"name": "Empty", "policies": []}))).await, (StatusCode::BAD_REQUEST, "At least one policy is required in a role".to_string()), "22");
    let consumer = o.read("/api/v1/roles/name/DataConsumer").await;
    assert_eq!(
        call(s, admin, Method::DELETE, &format!("/api/v1/roles/{}", consumer["id"].as_str().unwrap()), None).await,
        (StatusCode::BAD_REQUEST, "System entity [DataConsumer] of type role can not be deleted.".to_string()),
        "22"
    );
    let org = o.read("/api/v1/policies/name/OrganizationPolicy").await;
    assert_eq!(
        call(s, admin, Method::DELETE, &format!("/api/v1/policies/{}", org["id"].as_str().unwrap()), None).await,
        (StatusCode::BAD_REQUEST, "System entity [OrganizationPolicy] of type policy can not be deleted.".to_string()),
        "22"
    );
    o.stop().await;
}

/// Checklist 23 and 24: bots have no admin shortcut and no team policies; the ingestion bot does
/// what OpenMetadata's does and no more; a bot with the default bot role reads but cannot take
/// ownership.
#[tokio::test]
async fn bots_act_through_their_roles_only() {
    let o = Org::start().await;
    let (s, bot) = (&o.s, &o.bot);
    let (status, created) = s.call(Method::PUT, "/api/v1/tables", Some(bot), Some(create_table("byBot", "svc.db.sch", json!([])))).await;
    assert_eq!(status, StatusCode::CREATED, "23: {created}");
    let mut update = create_table("byBot", "svc.db.sch", json!([]));
    update["description"] = json!("d");
    assert_eq!(outcome(call(s, bot, Method::PUT, "/api/v1/tables", Some(update)).await), ok(), "23");
    let path = format!("/api/v1/tables/{}", created["id"].as_str().unwrap());
    assert_eq!(outcome(patch(s, bot, &path, display_name("By bot")).await), ok(), "23");
    assert_eq!(outcome(call(s, bot, Method::DELETE, &path, None).await), ok(), "23");
    let denied = "Principal: CatalogPrincipal{name='ingestion-bot'} operation Create denied by role IngestionBotRole, policy DefaultBotPolicy, rule BotRule-Deny";
    assert_eq!(call(s, bot, Method::POST, "/api/v1/bots", Some(json!({"name": "b2", "botUser": "ingestion-bot"}))).await, (StatusCode::FORBIDDEN, denied.to_string()), "23");
    let default_role = o.read("/api/v1/roles/name/DefaultBotRole").await;
    let (status, user) = s.call(Method::POST, "/api/v1/users", Some(&o.admin), Some(json!({"name": "plain-bot", "email": "plain-bot@open-metadata.org", "isBot": true, "roles": [default_role["id"]]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, answer) = s.call(Method::POST, "/api/v1/bots", Some(&o.admin), Some(json!({"name": "plain-bot", "botUser": "plain-bot"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, token) = s.call(Method::PUT, &format!("/api/v1/users/generateToken/{}", user["id"].as_str().unwrap()), Some(&o.admin), Some(json!({"JWTTokenExpiry": "OneHour"}))).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let plain = token["JWTToken"].as_str().unwrap();
    assert_eq!(outcome(call(s, plain, Method::GET, &o.table("T4"), None).await), ok(), "24: it reads (DataConsumerPolicy)");
    let own = json!([{"op": "add", "path": "/owners", "value": user_ref(&o.u1)}]);
    assert_eq!(patch(s, plain, &o.table("T4"), own.clone()).await, (StatusCode::FORBIDDEN, not_allowed("plain-bot", "EditOwners")), "24: no Organization policies for bots");
    assert_eq!(outcome(patch(s, &o.u1.token, &o.table("T4"), own).await), ok(), "24: a person may");
    o.stop().await;
}

/// Team inheritance: a user gets the default roles of its team and of every team above it.
#[tokio::test]
async fn default_roles_are_inherited_down_the_team_hierarchy() {
    let o = Org::start().await;
    let s = &o.s;
    let steward = o.read("/api/v1/roles/name/DataSteward").await;
    let (status, dept) = s.call(Method::POST, "/api/v1/teams", Some(&o.admin), Some(json!({"name": "Data", "teamType": "Department", "defaultRoles": [steward["id"]]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{dept}");
    let (status, group) = s.call(Method::POST, "/api/v1/teams", Some(&o.admin), Some(json!({"name": "Analysts", "teamType": "Group", "parents": [dept["id"]]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let ana = person(s, &o.admin, "ana", json!({"teams": [group["id"]]})).await;
    assert_eq!(outcome(patch(s, &ana.token, &o.table("T1"), display_name("Steward's name")).await), ok(), "DataSteward from the department");
    // Shown as OpenMetadata's read-only `inheritedRoles`: a user's from its teams and above, a
    // team's from its parents and above (the Organization gives DataConsumer to everyone).
    let names = |entity: &Value| -> Vec<String> { entity["inheritedRoles"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str().map(str::to_string)).collect() };
    let (_, me) = s.get(&format!("/api/v1/users/{}?fields=teams,roles,inheritedRoles", ana.id), Some(&ana.token)).await;
    assert_eq!((names(&me), me["roles"].clone()), (vec!["DataSteward".to_string(), "DataConsumer".to_string()], json!([])), "a user's inherited roles: {me}");
    let (_, team) = s.get(&format!("/api/v1/teams/{}?fields=parents,defaultRoles,inheritedRoles", group["id"].as_str().unwrap()), Some(&o.admin)).await;
    assert_eq!(names(&team), ["DataSteward", "DataConsumer"], "a team's inherited roles: {team}");
    let (_, top) = s.get(&format!("/api/v1/teams/{}?fields=inheritedRoles", dept["id"].as_str().unwrap()), Some(&o.admin)).await;
    assert_eq!(names(&top), ["DataConsumer"], "a team's own default roles are not inherited by it: {top}");
    let (_, plain) = s.get(&format!("/api/v1/users/{}?fields=inheritedRoles", o.outsider.id), Some(&o.admin)).await;
    assert_eq!(names(&plain), ["DataConsumer"], "a user in no team: {plain}");
    let (_, without) = s.get(&format!("/api/v1/users/{}", ana.id), Some(&ana.token)).await;
    assert!(without.get("inheritedRoles").is_none(), "only when asked for: {without}");
    // Read-only: a patch of it changes nothing.
    let (status, after) = s.patch(&format!("/api/v1/users/{}", ana.id), &ana.token, json!([{"op": "add", "path": "/inheritedRoles", "value": []}])).await;
    assert_eq!((status, after["version"].clone()), (StatusCode::OK, me["version"].clone()), "{after}");
    assert_eq!(patch(s, &o.outsider.token, &o.table("T1"), display_name("x")).await, (StatusCode::FORBIDDEN, not_allowed("outsider", "EditDisplayName")));
    o.stop().await;
}

/// The answer a table of cases expects: allowed, or refused with 403.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allowed,
    Refused,
}

use Expect::*;

/// One resource family: its collection, a create request for a fresh entity, and whether its
/// writes need admin rights on top of the policies (policies, roles: they decide what
/// everyone may do).
struct Family {
    collection: &'static str,
    create: fn(&str) -> Value,
}

const FAMILIES: &[Family] = &[
    Family { collection: "tables", create: |n| create_table(n, "svc.db.sch", json!([])) },
    Family { collection: "services/databaseServices", create: |n| json!({"name": n, "serviceType": "Mysql"}) },
    Family { collection: "classifications", create: |n| json!({"name": n, "description": "d"}) },
    Family { collection: "teams", create: |n| json!({"name": n, "teamType": "Group"}) },
    Family { collection: "roles", create: |n| json!({"name": n, "policies": ["DataConsumerPolicy"]}) },
    Family { collection: "policies", create: |n| json!({"name": n, "rules": [{"name": "r", "effect": "allow", "operations": ["ViewBasic"], "resources": ["table"]}]}) },
];

#[derive(Debug, Clone, Copy)]
enum Op {
    View,
    Describe,
    Rename,
    Create,
    Delete,
}

/// Runs `op` on a fresh entity of `family` as `token`; returns whether it was allowed (403:
/// refused; anything else but a success fails the test).
async fn attempt(o: &Org, family: &Family, op: Op, token: &str, seq: usize) -> Expect {
    let name = format!("case{seq}");
    let base = format!("/api/v1/{}", family.collection);
    let (status, entity) = o.s.call(Method::POST, &base, Some(&o.admin), Some((family.create)(&name))).await;
    assert_eq!(status, StatusCode::CREATED, "{base}: {entity}");
    let item = format!("{base}/{}", entity["id"].as_str().unwrap());
    let (status, answer) = match op {
        Op::View => o.s.get(&item, Some(token)).await,
        Op::Describe => o.s.patch(&item, token, describe("described")).await,
        Op::Rename => o.s.patch(&item, token, display_name("Renamed")).await,
        Op::Create => o.s.call(Method::POST, &base, Some(token), Some((family.create)(&format!("{name}new")))).await,
        Op::Delete => o.s.call(Method::DELETE, &item, Some(token), None).await,
    };
    match status {
        s if s.is_success() => Allowed,
        StatusCode::FORBIDDEN => Refused,
        other => panic!("{op:?} on {base}: unexpected {other}: {answer}"),
    }
}

/// Each seeded role × each resource family × each operation, through the API: a data
/// consumer describes data (not the roles and policies that govern everyone), a data steward
/// also renames, the ingestion bot creates and deletes data but never governance, an admin does
/// everything.
#[tokio::test]
async fn seeded_roles_times_resources_times_operations() {
    let o = Org::start().await;
    let steward_role = o.read("/api/v1/roles/name/DataSteward").await;
    let steward = person(&o.s, &o.admin, "stew", json!({"roles": [steward_role["id"]]})).await;
    let who: [(&str, &str); 4] = [("consumer", &o.u2.token), ("steward", &steward.token), ("bot", &o.bot), ("admin", &o.admin)];
    // Per family (tables, services, classifications, teams, roles, policies): what each may do.
    let table: &[(&str, Op, [Expect; 6])] = &[
        ("consumer", Op::View, [Allowed; 6]),
        ("consumer", Op::Describe, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("consumer", Op::Rename, [Refused; 6]),
        ("consumer", Op::Create, [Refused; 6]),
        ("consumer", Op::Delete, [Refused; 6]),
        ("steward", Op::View, [Allowed; 6]),
        ("steward", Op::Describe, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("steward", Op::Rename, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("steward", Op::Create, [Refused; 6]),
        ("steward", Op::Delete, [Refused; 6]),
        ("bot", Op::View, [Allowed; 6]),
        ("bot", Op::Describe, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("bot", Op::Rename, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("bot", Op::Create, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("bot", Op::Delete, [Allowed, Allowed, Allowed, Allowed, Refused, Refused]),
        ("admin", Op::View, [Allowed; 6]),
        ("admin", Op::Describe, [Allowed; 6]),
        ("admin", Op::Rename, [Allowed; 6]),
        ("admin", Op::Create, [Allowed; 6]),
        ("admin", Op::Delete, [Allowed; 6]),
    ];
    let mut seq = 0;
    let mut wrong = vec![];
    for (subject, op, expected) in table {
        let token = who.iter().find(|(n, _)| n == subject).unwrap().1;
        for (family, expect) in FAMILIES.iter().zip(expected) {
            seq += 1;
            let got = attempt(&o, family, *op, token, seq).await;
            if got != *expect {
                wrong.push(format!("{subject} {op:?} {}: expected {expect:?}, got {got:?}", family.collection));
            }
        }
    }
    assert!(wrong.is_empty(), "cases that differ:\n{}", wrong.join("\n"));
    o.stop().await;
}

/// Issue 14, hole 1: a JSON Patch on the root path (or any shape) is judged by what it changes,
/// so nobody makes itself an admin or a bot.
#[tokio::test]
async fn a_root_path_patch_cannot_make_anyone_admin_or_bot() {
    let o = Org::start().await;
    let (s, u1) = (&o.s, &o.u1);
    let me = format!("/api/v1/users/{}", u1.id);
    let (_, mut own) = s.get(&me, Some(&u1.token)).await;
    own["isAdmin"] = json!(true);
    let not_admin = (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='u1'} is not admin".to_string());
    for op in ["replace", "add"] {
        assert_eq!(patch(s, &u1.token, &me, json!([{"op": op, "path": "", "value": own}])).await, not_admin, "{op} on the root path");
    }
    own["isAdmin"] = json!(false);
    own["isBot"] = json!(true);
    assert_eq!(patch(s, &u1.token, &me, json!([{"op": "replace", "path": "", "value": own}])).await, not_admin, "becoming a bot");
    let steward = o.read("/api/v1/roles/name/DataSteward").await;
    assert_eq!(patch(s, &u1.token, &me, json!([{"op": "add", "path": "/roles", "value": [{"id": steward["id"], "type": "role"}]}])).await, not_admin, "granting itself a role");
    let (_, after) = s.get(&format!("{me}?fields=roles"), Some(&o.admin)).await;
    assert_eq!((after["isAdmin"].clone(), after["isBot"].clone(), after["roles"].clone()), (json!(false), json!(false), json!([])), "nothing changed");
    assert_eq!(outcome(patch(s, &u1.token, &me, describe("me")).await), ok(), "a user still describes itself");
    o.stop().await;
}

/// Issue 14, hole 2: a deleted user's tokens stop at once, and its name re-created later does
/// not revive them; a token without a user cannot sign itself up again.
#[tokio::test]
async fn a_deleted_users_tokens_stop_at_once_and_stay_stopped() {
    let o = Org::start().await;
    let (s, u2) = (&o.s, &o.u2);
    let (status, pat) = s.call(Method::PUT, "/api/v1/users/security/token", Some(&u2.token), Some(json!({"tokenName": "script", "JWTTokenExpiry": "7"}))).await;
    assert_eq!(status, StatusCode::OK, "{pat}");
    let pat = pat["jwtToken"].as_str().unwrap().to_string();
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}", u2.id), Some(&o.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    for token in [&u2.token, &pat] {
        for path in ["/api/v1/tables", "/api/v1/users", "/api/v1/bots", "/api/v1/search/query?q=*"] {
            let (status, answer) = s.get(path, Some(token)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} after a soft delete: {answer}");
        }
    }
    let (status, _) = s.call(Method::PUT, "/api/v1/users/restore", Some(&o.admin), Some(json!({"id": u2.id}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("/api/v1/tables", Some(&u2.token)).await.0, StatusCode::UNAUTHORIZED, "a restore does not revive old tokens");
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}?hardDelete=true", u2.id), Some(&o.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = s.call(Method::POST, "/api/v1/users", Some(&u2.token), Some(json!({"name": "u2", "email": "u2@open-metadata.org"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no self-signup with a deleted user's token: {answer}");
    assert_eq!(s.get("/api/v1/users/name/u2", Some(&o.admin)).await.0, StatusCode::NOT_FOUND, "not re-created");
    let again = person(s, &o.admin, "u2", json!({})).await;
    assert_eq!(s.get("/api/v1/tables", Some(&u2.token)).await.0, StatusCode::UNAUTHORIZED, "the old token does not pass for the new u2");
    assert_eq!(s.get("/api/v1/tables", Some(&again.token)).await.0, StatusCode::OK, "the new u2 signs in");
    o.stop().await;
}

/// A policy changed through one replica applies on another at once (PostgreSQL notifications),
/// although each reuses its governance for a minute here.
#[tokio::test]
async fn a_policy_change_through_one_replica_applies_on_another_at_once() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let keys = common::KeyFiles::generate();
    let env = keys.replica_env(&url, &[("FERROMETA_ACCESS_CACHE_SECONDS", "60")]);
    let env = common::borrowed(&env);
    let (a, b) = (TestServer::start(&env).await, TestServer::start(&env).await);
    let admin = a.admin_token().await;
    let (_, bot) = a.ingestion_bot(&admin).await;
    for (path, body) in [
        ("/api/v1/services/databaseServices", json!({"name": "svc", "serviceType": "Mysql"})),
        ("/api/v1/databases", json!({"name": "db", "service": "svc"})),
        ("/api/v1/databaseSchemas", json!({"name": "sch", "database": "svc.db"})),
        ("/api/v1/tables", create_table("t", "svc.db.sch", json!([]))),
    ] {
        assert_eq!(a.call(Method::PUT, path, Some(&bot), Some(body)).await.0, StatusCode::CREATED, "{path}");
    }
    let consumer = person(&a, &admin, "c", json!({})).await;
    let table = "/api/v1/tables/name/svc.db.sch.t";
    let (_, t) = b.get(table, Some(&consumer.token)).await;
    let path = format!("/api/v1/tables/{}", t["id"].as_str().unwrap());
    assert_eq!(outcome(patch(&b, &consumer.token, &path, describe("before")).await), ok(), "replica B has read the governance");
    let consumer_policy = a.get("/api/v1/policies/name/DataConsumerPolicy", Some(&admin)).await.1;
    let rule = json!([{"name": "DataConsumerPolicy-EditRule", "effect": "allow", "resources": ["All"], "operations": ["ViewAll"]}]);
    let (status, _) = a.patch(&format!("/api/v1/policies/{}", consumer_policy["id"].as_str().unwrap()), &admin, json!([{"op": "replace", "path": "/rules", "value": rule}])).await;
    assert_eq!(status, StatusCode::OK);
    // The announcement travels on its own connection: wait for its effect (bounded well under
    // the minute the cache would otherwise hold).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let answer = patch(&b, &consumer.token, &path, describe(&format!("after {:?}", std::time::Instant::now()))).await;
        if answer.0 == StatusCode::FORBIDDEN || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(refused, (StatusCode::FORBIDDEN, not_allowed("c", "EditDescription")), "replica B applies the change");
    a.stop().await;
    b.stop().await;
}

//! Who may do what in the catalog: the one place where a caller, the operations a use case
//! needs and the resource it touches meet OpenMetadata's policies. Every use case of the catalog
//! that acts for a caller calls [`Catalog::authorize`]; the HTTP API and the web pages both reach
//! the catalog only through those use cases.
//!
//! The policies, roles and teams are read as one snapshot ([`Governance`]), rebuilt when it is
//! older than the access cache's time to live or after a change — on this replica, or on
//! another one that announced it (PostgreSQL notifications) — so a change applies within that
//! bound even when an announcement is lost.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::audit::Actor;
use crate::engine::{Catalog, EntityKind};
use crate::error::{CatalogError, Result};
use crate::governance::ORGANIZATION;
use crate::kinds::{POLICY, ROLE, TEAM, USER};
use crate::policy::{self, Denial, EntityFacts, Grant, Operation, Permission, Policy, Standing, Subject, Target};

/// How long a governance snapshot is used, unless configured (`accessCacheSeconds`).
pub const DEFAULT_ACCESS_CACHE_TTL: Duration = Duration::from_secs(5);

/// The role whose holders see only the entities of their domains (OpenMetadata's domain gate).
const DOMAIN_ONLY_ROLE: &str = "DomainOnlyAccessRole";

struct TeamNode {
    name: String,
    parents: Vec<String>,
    default_roles: Vec<String>,
    policies: Vec<String>,
}

struct RoleNode {
    name: String,
    policies: Vec<String>,
    /// The role's `EntityReference` (a user's or team's `inheritedRoles`).
    reference: Value,
}

/// Teams, roles and policies as authorization reads them.
pub struct Governance {
    teams: HashMap<String, TeamNode>,
    roles: HashMap<String, RoleNode>,
    policies: HashMap<String, Arc<Policy>>,
    organization: Option<String>,
    built_at: Instant,
    /// Each caller's standing, worked out once per snapshot (a change to a user, team, role or
    /// policy replaces the snapshot, so none outlives what it was computed from).
    standings: std::sync::Mutex<HashMap<String, (Subject, Arc<Standing>)>>,
}

/// Standings kept per snapshot at most; past it the map starts again (callers are few).
const MAX_STANDINGS: usize = 10_000;

fn reference_ids(listed: &Value) -> Vec<String> {
    listed.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().or(r.as_str()).map(str::to_string)).collect()
}

impl Governance {
    async fn load(catalog: &Catalog) -> Result<Governance> {
        let store = catalog.store();
        let mut policies = HashMap::new();
        for row in store.live_entities_of_type(POLICY.name).await? {
            if let Some(p) = Policy::compile(&catalog.entity_of(&row)?) {
                policies.insert(row.id.clone(), Arc::new(p));
            }
        }
        let mut roles = HashMap::new();
        for row in store.live_entities_of_type(ROLE.name).await? {
            let role = catalog.entity_of(&row)?;
            let (name, policies, reference) = (role["name"].as_str().unwrap_or_default().to_string(), reference_ids(&role["policies"]), catalog.reference(&ROLE, &role));
            roles.insert(row.id.clone(), RoleNode { name, policies, reference });
        }
        let mut teams = HashMap::new();
        let mut organization = None;
        for row in store.live_entities_of_type(TEAM.name).await? {
            let team = catalog.entity_of(&row)?;
            let name = team["name"].as_str().unwrap_or_default().to_string();
            if name.eq_ignore_ascii_case(ORGANIZATION) {
                organization = Some(row.id.clone());
            }
            teams.insert(row.id.clone(), TeamNode { name, parents: vec![], default_roles: vec![], policies: reference_ids(&team["policies"]) });
        }
        for (parent, child) in store.relation_edges("parentOf", TEAM.name, TEAM.name).await? {
            if let Some(node) = teams.get_mut(&child) {
                node.parents.push(parent);
            }
        }
        for (team, role) in store.relation_edges("has", TEAM.name, ROLE.name).await? {
            if let Some(node) = teams.get_mut(&team) {
                node.default_roles.push(role);
            }
        }
        Ok(Governance { teams, roles, policies, organization, built_at: Instant::now(), standings: Default::default() })
    }

    /// A team's parents; a team without any is under the Organization.
    fn parents_of(&self, team: &str) -> Vec<&str> {
        match self.teams.get(team) {
            Some(node) if !node.parents.is_empty() => node.parents.iter().map(String::as_str).collect(),
            _ => self.organization.iter().map(String::as_str).filter(|org| *org != team).collect(),
        }
    }

    /// Teams and every team above them, each once, nearest first.
    fn with_ancestors<'a>(&'a self, start: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut seen: Vec<&str> = vec![];
        let mut queue: VecDeque<&str> = start.into_iter().collect();
        while let Some(team) = queue.pop_front() {
            if seen.contains(&team) || !self.teams.contains_key(team) {
                continue;
            }
            seen.push(team);
            queue.extend(self.parents_of(team));
        }
        seen
    }

    /// References to the default roles of these teams and of every team above them, each once,
    /// nearest team first: OpenMetadata's `inheritedRoles` of a user (from its teams) or of a
    /// team (from its parents). Read from the snapshot, so a read costs no query.
    pub(crate) fn default_roles_above<'a>(&'a self, teams: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
        let mut seen: Vec<&str> = vec![];
        let mut refs = vec![];
        for team in self.with_ancestors(teams) {
            for role in &self.teams[team].default_roles {
                if !seen.contains(&role.as_str()) && let Some(node) = self.roles.get(role) {
                    seen.push(role);
                    refs.push(node.reference.clone());
                }
            }
        }
        refs
    }

    fn role_grants(&self, role_id: &str, via_team: Option<&str>, standing: &mut Standing) {
        let Some(role) = self.roles.get(role_id) else { return };
        if !standing.role_names.contains(&role.name) {
            standing.role_names.push(role.name.clone());
        }
        for policy in role.policies.iter().filter_map(|p| self.policies.get(p)) {
            standing.grants.push(Grant { policy: policy.clone(), role: Some(role.name.clone()), via_team: via_team.map(str::to_string) });
        }
    }

    fn team_policy_grants(&self, team_id: &str, grants: &mut Vec<Grant>) {
        for policy in self.teams.get(team_id).into_iter().flat_map(|t| &t.policies).filter_map(|p| self.policies.get(p)) {
            grants.push(Grant { policy: policy.clone(), role: None, via_team: Some(team_id.to_string()) });
        }
    }

    /// A caller's standing ([`Governance::standing`]), reused within this snapshot while the
    /// caller's roles and teams are the ones it was worked out for.
    pub fn standing_of(&self, subject: &Subject) -> Arc<Standing> {
        let mut standings = self.standings.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known_for, known)) = standings.get(&subject.user_id)
            && known_for.roles == subject.roles
            && known_for.teams == subject.teams
            && known_for.is_bot == subject.is_bot
        {
            return known.clone();
        }
        if standings.len() >= MAX_STANDINGS {
            standings.clear();
        }
        let standing = Arc::new(self.standing(subject));
        standings.insert(subject.user_id.clone(), (subject.clone(), standing.clone()));
        standing
    }

    /// The policies that apply to a caller: its roles', then (for people, not bots) each of its
    /// teams' default roles and own policies, up to the Organization.
    pub fn standing(&self, subject: &Subject) -> Standing {
        let mut standing = Standing::default();
        for role in &subject.roles {
            self.role_grants(role, None, &mut standing);
        }
        let direct: Vec<&str> = if subject.teams.is_empty() { self.organization.iter().map(String::as_str).collect() } else { subject.teams.iter().map(|(id, _)| id.as_str()).collect() };
        for team in self.with_ancestors(direct) {
            let node = &self.teams[team];
            standing.team_ids.insert(team.to_string());
            standing.team_names.push(node.name.clone());
            if subject.is_bot {
                continue;
            }
            for role in &node.default_roles {
                self.role_grants(role, Some(team), &mut standing);
            }
            self.team_policy_grants(team, &mut standing.grants);
        }
        standing
    }

    /// The policies of the teams owning an entity, and of the teams above them, that the
    /// caller's own teams did not already bring (how `TeamOnlyPolicy` fences a team's assets).
    fn owner_team_grants(&self, facts: &EntityFacts, standing: &Standing) -> Vec<Grant> {
        let mut grants = vec![];
        // Most entities are owned by users or by nobody: nothing to walk.
        if facts.team_owners().next().is_none() {
            return grants;
        }
        let owners = facts.team_owners().map(|o| o.id.as_str());
        for team in self.with_ancestors(owners).into_iter().filter(|t| !standing.team_ids.contains(*t)) {
            self.team_policy_grants(team, &mut grants);
        }
        grants
    }

    fn holds_role(&self, standing: &Standing, name: &str) -> bool {
        standing.role_names.iter().any(|r| r == name)
    }
}

/// The governance snapshot of one catalog handle (shared by its clones), and a counter of the
/// changes to who may do what (users, teams, roles, policies, bots) that callers cached
/// elsewhere compare with.
pub(crate) struct AccessControl {
    snapshot: RwLock<Option<Arc<Governance>>>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    ttl: Duration,
}

/// Types whose writes change who may do what.
const ACCESS_TYPES: &[&str] = &["user", "team", "role", "policy", "bot"];

impl AccessControl {
    pub(crate) fn new(ttl: Duration) -> AccessControl {
        AccessControl { snapshot: RwLock::new(None), refresh: tokio::sync::Mutex::new(()), generation: AtomicU64::new(0), ttl }
    }

    fn changed(&self) {
        self.forget();
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn fresh(&self) -> Option<Arc<Governance>> {
        let snapshot = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snapshot.as_ref().filter(|g| g.built_at.elapsed() < self.ttl).cloned()
    }

    fn forget(&self) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// How a request names the entity it reads or changes.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Id(&'a str),
    Fqn(&'a str),
}

impl Catalog {
    /// The current governance snapshot, read again when stale (one reader at a time).
    pub async fn governance(&self) -> Result<Arc<Governance>> {
        if let Some(g) = self.access().fresh() {
            return Ok(g);
        }
        let _refreshing = self.access().refresh.lock().await;
        if let Some(g) = self.access().fresh() {
            return Ok(g);
        }
        let g = Arc::new(Governance::load(self).await?);
        *self.access().snapshot.write().unwrap_or_else(|e| e.into_inner()) = Some(g.clone());
        Ok(g)
    }

    /// Called after every write: a change to users, teams, roles, policies or bots makes the
    /// next decision read the governance again, moves [`Catalog::access_generation`], and is
    /// announced to the other replicas. The write is done: a failed announcement is logged, and
    /// the others learn of it within the access cache's time to live.
    pub(crate) async fn written(&self, kind: &EntityKind) {
        if ACCESS_TYPES.contains(&kind.name) {
            self.access().changed();
            if let Err(e) = self.store().announce_access_change().await {
                tracing::warn!(error = %e, "could not announce an access change to the other replicas");
            }
        }
    }

    /// Counts the changes to who may do what on this replica (and those another replica
    /// announced through [`Catalog::access_changed_elsewhere`]): a caller resolved under an
    /// older count is resolved again.
    pub fn access_generation(&self) -> u64 {
        self.access().generation.load(Ordering::Acquire)
    }

    /// Another replica changed users, teams, roles or policies.
    pub fn access_changed_elsewhere(&self) {
        self.access().changed();
    }

    /// The caller a live user is: refused (401) for a deleted user. Teams and roles are read
    /// from the user as loaded (its relationships), domains from its references.
    pub fn subject(&self, user: &Value) -> Result<Subject> {
        if user["deleted"] == json!(true) {
            return Err(CatalogError::Unauthorized(format!("Not Authorized! User {} is deleted", user["name"].as_str().unwrap_or_default())));
        }
        let refs = |field: &str| -> Vec<(String, String)> {
            user[field].as_array().into_iter().flatten().filter_map(|r| Some((r["id"].as_str()?.to_string(), r["name"].as_str().unwrap_or_default().to_string()))).collect()
        };
        Ok(Subject {
            name: user["name"].as_str().unwrap_or_default().to_string(),
            user_id: user["id"].as_str().unwrap_or_default().to_string(),
            is_admin: user["isAdmin"] == json!(true),
            is_bot: user["isBot"] == json!(true),
            teams: refs("teams"),
            roles: refs("roles").into_iter().map(|(id, _)| id).collect(),
            domains: refs("domains").into_iter().map(|(id, _)| id).collect(),
        })
    }

    /// What rules may ask about an entity of a type: a user owns itself (OpenMetadata's owner
    /// of a `user` resource), every other entity has its `owners`.
    pub fn facts(&self, kind: &EntityKind, entity: &Value) -> EntityFacts {
        let mut facts = EntityFacts::of(entity);
        if kind.name == USER.name {
            facts.owners = vec![policy::evaluate::Owner {
                id: entity["id"].as_str().unwrap_or_default().to_string(),
                kind: policy::evaluate::OwnerKind::User,
                name: entity["name"].as_str().unwrap_or_default().to_string(),
            }];
        }
        facts
    }

    /// The one authorization check: admins may do anything; a reviewer of the entity anything
    /// on it; holders of the domain-only role nothing outside their domains; everyone else what
    /// their policies allow (deny wins) — every operation of `operations` must be allowed. A
    /// refusal is recorded in the audit trail.
    pub async fn authorize(&self, actor: Actor<'_>, operations: &[Operation], target: &Target) -> Result<()> {
        match self.judge(actor.subject, operations, target).await? {
            None => Ok(()),
            Some(denial) => Err(self.refused(actor, &policy::operation::java_list(operations), &target.resource, denial.to_string()).await),
        }
    }

    /// The decision of [`Catalog::authorize`], unrecorded: why the caller is refused, if it is.
    pub(crate) async fn judge(&self, subject: &Subject, operations: &[Operation], target: &Target) -> Result<Option<Denial>> {
        if subject.is_admin || operations.is_empty() {
            return Ok(None);
        }
        if target.entity.as_ref().is_some_and(|e| e.reviewers.iter().any(|r| r.eq_ignore_ascii_case(&subject.name))) {
            return Ok(None);
        }
        let governance = self.governance().await?;
        let standing = governance.standing_of(subject);
        if let Some(entity) = &target.entity
            && governance.holds_role(&standing, DOMAIN_ONLY_ROLE)
            && !subject.is_bot
            && entity.domain.as_ref().is_some_and(|d| !subject.domains.contains(d))
        {
            return Ok(Some(Denial::OutsideDomains { name: subject.name.clone(), operations: operations.to_vec() }));
        }
        let (grants, target) = self.judged(&governance, &standing, target).await?;
        Ok(policy::decide(subject, &standing, &grants, operations, &target).err())
    }

    /// The grants that judge `target` — the caller's, plus the policies of the teams that own
    /// the entity — and the target with the owners' teams when a `matchTeam()` needs them.
    /// Borrowed when nothing is added (the common case).
    async fn judged<'a>(&self, governance: &Governance, standing: &'a Standing, target: &'a Target) -> Result<(Cow<'a, [Grant]>, Cow<'a, Target>)> {
        let Some(entity) = &target.entity else { return Ok((Cow::Borrowed(&standing.grants), Cow::Borrowed(target))) };
        let extra = governance.owner_team_grants(entity, standing);
        let grants: Cow<[Grant]> = if extra.is_empty() { Cow::Borrowed(&standing.grants) } else { Cow::Owned([standing.grants.clone(), extra].concat()) };
        if !grants.iter().any(|g| g.policy.match_team) {
            return Ok((grants, Cow::Borrowed(target)));
        }
        let mut with_teams = target.clone();
        if let Some(facts) = with_teams.entity.as_mut() {
            facts.owner_teams = self.owner_teams(governance, facts).await?;
        }
        Ok((grants, Cow::Owned(with_teams)))
    }

    /// The teams `matchTeam()` compares with: the first owner's team (or the first owner's
    /// teams), and every team above.
    async fn owner_teams(&self, governance: &Governance, entity: &EntityFacts) -> Result<HashSet<String>> {
        let Some(first) = entity.owners.first() else { return Ok(HashSet::new()) };
        let start: Vec<String> = match first.kind {
            policy::evaluate::OwnerKind::Team => vec![first.id.clone()],
            policy::evaluate::OwnerKind::User => {
                let side = ferrometa_store::RelationSide { relation: "has", outgoing: false, other_type: TEAM.name };
                let teams: Vec<String> = self.store().related(&first.id, side).await?.into_iter().filter(|t| !t.deleted).map(|t| t.id).collect();
                if teams.is_empty() { governance.organization.iter().cloned().collect() } else { teams }
            }
        };
        Ok(governance.with_ancestors(start.iter().map(String::as_str)).into_iter().map(str::to_string).collect())
    }

    /// Admin-only use cases (OpenMetadata's `authorizeAdmin`) on `resource`; a refusal is
    /// recorded in the audit trail.
    pub async fn require_admin(&self, actor: Actor<'_>, resource: &str) -> Result<()> {
        if actor.subject.is_admin {
            return Ok(());
        }
        Err(self.refused(actor, "Admin", resource, Denial::NotAdmin { name: actor.subject.name.clone() }.to_string()).await)
    }

    /// The permissions of a caller on every operation of a resource, at type level (`entity`
    /// `None`) or on one entity, from the same rules as [`Catalog::authorize`].
    pub async fn permissions(&self, subject: &Subject, resource: &policy::Resource, entity: Option<EntityFacts>) -> Result<Vec<Permission>> {
        let governance = self.governance().await?;
        let standing = governance.standing_of(subject);
        let target = Target { resource: resource.name.to_string(), entity };
        let (grants, target) = self.judged(&governance, &standing, &target).await?;
        Ok(policy::permissions(subject, &standing, &grants, &resource.operations, &target))
    }

    /// The type-level permissions that some policies alone give a caller (`GET
    /// /permissions/policies`).
    pub fn permissions_of_policies(&self, subject: &Subject, policies: &[Policy], resource: &policy::Resource) -> Vec<Permission> {
        let grants: Vec<Grant> = policies.iter().map(|p| Grant { policy: Arc::new(p.clone()), role: None, via_team: None }).collect();
        let subject = Subject { is_admin: false, ..subject.clone() };
        policy::permissions(&subject, &Standing::default(), &grants, &resource.operations, &Target::of_type(resource.name))
    }

    /// The role names a caller holds, directly and through its teams (a user's
    /// `inheritedRoles` are the ones from teams).
    pub async fn role_names(&self, subject: &Subject) -> Result<Vec<String>> {
        Ok(self.governance().await?.standing_of(subject).role_names.clone())
    }
}

/// Fields whose change alters what someone may do (roles, teams, admin and bot flags, the
/// identity a user signs in with); see [`Catalog::authorize_change`].
fn privileged_fields(kind: &EntityKind) -> &'static [&'static str] {
    match kind.name {
        "team" => &["defaultRoles", "policies", "parents", "children", "users"],
        "user" => &["isAdmin", "isBot", "email", "isEmailVerified", "roles", "teams", "authenticationMechanism"],
        _ => &[],
    }
}

/// Types whose every write alters what someone may do.
const PRIVILEGED_TYPES: &[&str] = &["policy", "role", "bot"];

/// Whether changing `field` of an entity of this type alters what someone may do (so needs an
/// admin), as [`privileged_change`] judges a write.
pub(crate) fn is_privileged_field(kind: &EntityKind, field: &str) -> bool {
    PRIVILEGED_TYPES.contains(&kind.name) || privileged_fields(kind).contains(&field)
}

/// The ids of a list of references, sorted; other values as they are.
fn comparable(v: Option<&Value>) -> Option<Value> {
    let v = v.filter(|v| !(v.is_null() || *v == &json!(false) || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty)))?;
    match v.as_array() {
        Some(items) if items.iter().all(|i| i.get("id").is_some() || i.is_string()) => {
            let mut ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str().or(i.as_str())).collect();
            ids.sort_unstable();
            Some(json!(ids))
        }
        _ => Some(v.clone()),
    }
}

/// The privileged field a write changes, if any: every field of `new` is compared with `old`
/// (absent in `new` means unchanged); a privileged type counts whatever the write.
pub(crate) fn privileged_change(kind: &EntityKind, old: Option<&Value>, new: &serde_json::Map<String, Value>) -> Option<&'static str> {
    if PRIVILEGED_TYPES.contains(&kind.name) {
        return Some(kind.name);
    }
    privileged_fields(kind).iter().copied().find(|f| new.contains_key(*f) && comparable(new.get(*f)) != comparable(old.and_then(|o| o.get(*f))))
}

impl Catalog {
    /// `Create` of a draft, judged as OpenMetadata judges it: on its container (owners,
    /// domain, tags) plus the tags of the new entity; admins only for privileged writes.
    pub(crate) async fn authorize_create(&self, actor: Actor<'_>, t: &crate::data::AssetType, draft: &crate::engine::Draft) -> Result<()> {
        let mut facts = EntityFacts::default();
        if let Some((field, kind)) = t.containers.iter().find(|(f, _)| draft.body.contains_key(*f)) {
            let id = draft.body[*field]["id"].as_str().unwrap_or_default();
            if let Some(row) = self.store().entity_by_id(kind.name, id).await? {
                facts = self.facts(kind, &self.entity_of(&row)?);
            }
        }
        facts.tags.extend(policy::evaluate::tags_of(&draft.body));
        self.authorize(actor, &[Operation::Create], &Target::entity(t.kind.name, facts)).await?;
        self.require_admin_for(actor, t.kind, None, &draft.body).await
    }

    /// A change of a stored entity: `operations` judged on it (a change that changes nothing
    /// still needs `ViewBasic`, since the entity is returned), then admin rights when the
    /// change alters what someone may do.
    pub(crate) async fn authorize_change(&self, actor: Actor<'_>, kind: &EntityKind, old: &Value, operations: &[Operation], new: &serde_json::Map<String, Value>) -> Result<()> {
        let operations = if operations.is_empty() { &[Operation::ViewBasic][..] } else { operations };
        self.authorize(actor, operations, &Target::entity(kind.name, self.facts(kind, old))).await?;
        self.require_admin_for(actor, kind, Some(old), new).await
    }

    async fn require_admin_for(&self, actor: Actor<'_>, kind: &EntityKind, old: Option<&Value>, new: &serde_json::Map<String, Value>) -> Result<()> {
        match privileged_change(kind, old, new) {
            Some(_) => self.require_admin(actor, kind.name).await,
            None => Ok(()),
        }
    }
}

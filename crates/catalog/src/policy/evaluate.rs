//! The decision OpenMetadata's `DefaultAuthorizer` and `PolicyEvaluator` make: deny rules
//! first (any matching deny refuses), then allow rules until every requested operation is
//! allowed; and the permission answers (`allow`, `conditionalAllow`, ...) computed from the same
//! rules. Pure functions over a caller's standing and a target's facts: no storage here.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::condition::Facts;
use super::operation::{Operation, java_list};
use super::rules::{Effect, Policy, Rule};

/// A caller as authorization sees it: a live user (or bot) of the catalog. Only the catalog
/// makes one, from a user it read (`Catalog::subject`), so a use case that takes a subject
/// cannot be called for someone who is not a live user.
#[derive(Debug, Clone)]
pub struct Subject {
    pub(crate) name: String,
    pub(crate) user_id: String,
    pub(crate) is_admin: bool,
    pub(crate) is_bot: bool,
    /// Direct teams: (id, name).
    pub(crate) teams: Vec<(String, String)>,
    /// Direct roles (ids).
    pub(crate) roles: Vec<String>,
    /// Domains (ids).
    pub(crate) domains: Vec<String>,
}

impl Subject {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    pub fn is_bot(&self) -> bool {
        self.is_bot
    }
}

/// A policy that applies to a caller, and how it was reached (for messages and `matchTeam`).
#[derive(Debug, Clone)]
pub struct Grant {
    pub policy: Arc<Policy>,
    /// The role that brought it (a direct role, or a team's default role).
    pub role: Option<String>,
    /// The team whose hierarchy brought it (a team's own policy or default role).
    pub via_team: Option<String>,
}

/// A caller's place in the governance: the policies that apply, every role (direct and
/// inherited from teams) and every team (direct and above).
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub grants: Vec<Grant>,
    pub role_names: Vec<String>,
    pub team_ids: HashSet<String>,
    pub team_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerKind {
    User,
    Team,
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub id: String,
    pub kind: OwnerKind,
    pub name: String,
}

/// What rules may ask about an entity being accessed.
#[derive(Debug, Clone, Default)]
pub struct EntityFacts {
    pub owners: Vec<Owner>,
    /// Tag and glossary-term FQNs of the entity and its columns.
    pub tags: Vec<String>,
    pub domain: Option<String>,
    /// Names and FQNs of the entity's user reviewers.
    pub reviewers: Vec<String>,
    /// The team of the first owner (or the first owner's teams) and every team above: what
    /// `matchTeam()` compares with the team a rule was reached through.
    pub owner_teams: HashSet<String>,
}

impl EntityFacts {
    /// The facts OpenMetadata reads from an entity: owners, tags (its own and its columns', at
    /// any depth), domain, reviewers.
    pub fn of(entity: &Value) -> EntityFacts {
        let owners = entity["owners"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let kind = match o["type"].as_str()? {
                    "user" => OwnerKind::User,
                    "team" => OwnerKind::Team,
                    _ => return None,
                };
                Some(Owner { id: o["id"].as_str()?.to_string(), kind, name: o["name"].as_str().unwrap_or_default().to_string() })
            })
            .collect();
        let tags = entity.as_object().map(tags_of).unwrap_or_default();
        let domain = entity["domain"]["id"].as_str().map(str::to_string);
        let reviewers = entity["reviewers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == json!("user"))
            .flat_map(|r| [r["name"].as_str(), r["fullyQualifiedName"].as_str()])
            .flatten()
            .map(str::to_string)
            .collect();
        EntityFacts { owners, tags, domain, reviewers, owner_teams: HashSet::new() }
    }

    pub fn team_owners(&self) -> impl Iterator<Item = &Owner> {
        self.owners.iter().filter(|o| o.kind == OwnerKind::Team)
    }
}

/// The tag FQNs of an entity (or create request) and of its columns, at any depth.
pub fn tags_of(node: &Map<String, Value>) -> Vec<String> {
    fn collect(node: &Map<String, Value>, tags: &mut Vec<String>) {
        tags.extend(node.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(|l| l["tagFQN"].as_str().map(str::to_string)));
        for column in ["columns", "children"].iter().filter_map(|f| node.get(*f).and_then(Value::as_array)).flatten() {
            if let Some(column) = column.as_object() {
                collect(column, tags);
            }
        }
    }
    let mut tags = vec![];
    collect(node, &mut tags);
    tags
}

/// The resource a request touches: its type and, when it names one, the entity.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: String,
    pub entity: Option<EntityFacts>,
}

impl Target {
    pub fn of_type(resource: &str) -> Target {
        Target { resource: resource.to_string(), entity: None }
    }

    pub fn entity(resource: &str, facts: EntityFacts) -> Target {
        Target { resource: resource.to_string(), entity: Some(facts) }
    }
}

/// Why a request is refused, worded as OpenMetadata words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    NotAllowed { name: String, operations: Vec<Operation> },
    Denied { name: String, operation: Operation, role: Option<String>, policy: String, rule: String },
    NotAdmin { name: String },
    /// A holder of the domain-only role, outside its domains.
    OutsideDomains { name: String, operations: Vec<Operation> },
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::NotAllowed { name, operations } => write!(f, "Principal: CatalogPrincipal{{name='{name}'}} operations {} not allowed", java_list(operations)),
            Denial::Denied { name, operation, role: Some(role), policy, rule } => {
                write!(f, "Principal: CatalogPrincipal{{name='{name}'}} operation {operation} denied by role {role}, policy {policy}, rule {rule}")
            }
            Denial::Denied { name, operation, role: None, policy, rule } => write!(f, "Principal: CatalogPrincipal{{name='{name}'}} operation {operation} denied policy {policy}, rule {rule}"),
            Denial::NotAdmin { name } => write!(f, "Principal: CatalogPrincipal{{name='{name}'}} is not admin"),
            Denial::OutsideDomains { name, operations } => {
                write!(f, "Principal: CatalogPrincipal{{name='{name}'}} does not belong to domain. to perform the {} ", java_list(operations))
            }
        }
    }
}

/// The facts one rule's condition reads: the caller, the entity (if any) and the team the
/// rule was reached through.
struct RuleFacts<'a> {
    subject: &'a Subject,
    standing: &'a Standing,
    entity: Option<&'a EntityFacts>,
    via_team: Option<&'a str>,
}

impl Facts for RuleFacts<'_> {
    fn no_owner(&self) -> bool {
        self.entity.is_none_or(|e| e.owners.is_empty())
    }

    fn is_owner(&self) -> bool {
        let Some(e) = self.entity else { return false };
        e.owners.iter().any(|o| match o.kind {
            OwnerKind::User => o.name.eq_ignore_ascii_case(&self.subject.name),
            OwnerKind::Team => self.subject.teams.iter().any(|(_, team)| team.eq_ignore_ascii_case(&o.name)),
        })
    }

    fn match_all_tags(&self, tags: &[String]) -> bool {
        self.entity.is_some_and(|e| tags.iter().all(|t| e.tags.contains(t)))
    }

    fn match_any_tag(&self, tags: &[String]) -> bool {
        self.entity.is_some_and(|e| tags.iter().any(|t| e.tags.contains(t)))
    }

    fn match_team(&self) -> bool {
        match (self.via_team, self.entity) {
            (Some(team), Some(e)) => e.owner_teams.contains(team) && self.standing.team_ids.contains(team),
            _ => false,
        }
    }

    fn in_any_team(&self, teams: &[String]) -> bool {
        teams.iter().any(|t| self.standing.team_names.iter().any(|n| n.eq_ignore_ascii_case(t)))
    }

    fn has_any_role(&self, roles: &[String]) -> bool {
        roles.iter().any(|r| self.standing.role_names.iter().any(|n| n == r))
    }

    fn has_domain(&self) -> bool {
        match self.entity.and_then(|e| e.domain.as_ref()) {
            None => true,
            Some(domain) => self.subject.domains.contains(domain),
        }
    }
}

fn condition_holds(rule: &Rule, facts: &RuleFacts<'_>) -> bool {
    rule.condition.as_ref().is_none_or(|c| c.holds(facts))
}

/// Every requested operation must be allowed by some rule and denied by none: deny rules are
/// read first, whatever their order, then allow rules until nothing is pending.
pub fn decide(subject: &Subject, standing: &Standing, grants: &[Grant], operations: &[Operation], target: &Target) -> Result<(), Denial> {
    fn facts<'a>(subject: &'a Subject, standing: &'a Standing, target: &'a Target, grant: &'a Grant) -> RuleFacts<'a> {
        RuleFacts { subject, standing, entity: target.entity.as_ref(), via_team: grant.via_team.as_deref() }
    }
    for grant in grants {
        for rule in grant.policy.rules.iter().filter(|r| r.effect == Effect::Deny && r.applies_to(&target.resource)) {
            if let Some(&op) = operations.iter().find(|op| rule.covers(**op))
                && condition_holds(rule, &facts(subject, standing, target, grant))
            {
                return Err(Denial::Denied { name: subject.name.clone(), operation: op, role: grant.role.clone(), policy: grant.policy.name.clone(), rule: rule.name.clone() });
            }
        }
    }
    let mut pending: Vec<Operation> = operations.to_vec();
    pending.dedup();
    for grant in grants {
        for rule in grant.policy.rules.iter().filter(|r| r.effect == Effect::Allow && r.applies_to(&target.resource)) {
            if pending.iter().any(|op| rule.covers(*op)) && condition_holds(rule, &facts(subject, standing, target, grant)) {
                pending.retain(|op| !rule.covers(*op));
                if pending.is_empty() {
                    return Ok(());
                }
            }
        }
    }
    if pending.is_empty() { Ok(()) } else { Err(Denial::NotAllowed { name: subject.name.clone(), operations: pending }) }
}

/// OpenMetadata's `Access`, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Deny,
    Allow,
    ConditionalDeny,
    ConditionalAllow,
    NotAllow,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Deny => "deny",
            Access::Allow => "allow",
            Access::ConditionalDeny => "conditionalDeny",
            Access::ConditionalAllow => "conditionalAllow",
            Access::NotAllow => "notAllow",
        }
    }
}

/// One operation's access, and the rule that set it.
#[derive(Debug, Clone)]
pub struct Permission {
    pub operation: Operation,
    pub access: Access,
    pub source: Option<PermissionSource>,
}

#[derive(Debug, Clone)]
pub struct PermissionSource {
    pub rule: Value,
    pub policy: String,
    pub role: Option<String>,
}

impl Permission {
    pub fn to_json(&self) -> Value {
        let mut p = json!({"operation": self.operation.as_str(), "access": self.access.as_str()});
        if let Some(source) = &self.source {
            p["rule"] = source.rule.clone();
            p["policy"] = json!(source.policy);
            if let Some(role) = &source.role {
                p["role"] = json!(role);
            }
        }
        p
    }
}

/// The access of each operation of a resource for a caller. Without an entity (type level) a
/// conditional rule gives `conditionalAllow`/`conditionalDeny`; with one, conditions are
/// evaluated. A rule changes an entry only to an access of higher precedence. Admins are
/// allowed everything, with no rule named.
pub fn permissions(subject: &Subject, standing: &Standing, grants: &[Grant], operations: &[Operation], target: &Target) -> Vec<Permission> {
    let mut answer: Vec<Permission> = operations.iter().map(|&operation| Permission { operation, access: Access::NotAllow, source: None }).collect();
    if subject.is_admin {
        answer.iter_mut().for_each(|p| p.access = Access::Allow);
        return answer;
    }
    for grant in grants {
        let facts = RuleFacts { subject, standing, entity: target.entity.as_ref(), via_team: grant.via_team.as_deref() };
        for rule in grant.policy.rules.iter().filter(|r| r.applies_to(&target.resource)) {
            let access = match (target.entity.is_some(), rule.condition.is_some(), rule.effect) {
                (false, true, Effect::Allow) => Access::ConditionalAllow,
                (false, true, Effect::Deny) => Access::ConditionalDeny,
                (_, _, effect) if condition_holds(rule, &facts) => if effect == Effect::Allow { Access::Allow } else { Access::Deny },
                _ => continue,
            };
            for entry in answer.iter_mut().filter(|p| rule.covers(p.operation) && access < p.access) {
                entry.access = access;
                entry.source = Some(PermissionSource { rule: rule.to_json(), policy: grant.policy.name.clone(), role: grant.role.clone() });
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::condition::Condition;
    use Operation::*;

    fn rule(name: &str, effect: Effect, ops: &[Operation], resources: &[&str], condition: Option<&str>) -> Rule {
        Rule {
            name: name.into(),
            description: None,
            effect,
            operations: ops.to_vec(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            condition: condition.map(|c| Condition::parse(c).unwrap()),
        }
    }

    fn grant(policy: &str, role: Option<&str>, rules: Vec<Rule>) -> Grant {
        Grant { policy: Arc::new(Policy { id: policy.into(), name: policy.into(), rules, match_team: false }), role: role.map(str::to_string), via_team: None }
    }

    fn u1() -> Subject {
        Subject { name: "u1".into(), user_id: "id-u1".into(), is_admin: false, is_bot: false, teams: vec![("g1".into(), "G1".into())], roles: vec![], domains: vec![] }
    }

    /// OpenMetadata's seeded consumer and organization policies.
    fn seeded() -> Vec<Grant> {
        vec![
            grant("DataConsumerPolicy", Some("DataConsumer"), vec![rule("DataConsumerPolicy-EditRule", Effect::Allow, &[ViewAll, EditDescription, EditTags, EditGlossaryTerms, EditTier], &["All"], None)]),
            grant(
                "OrganizationPolicy",
                None,
                vec![
                    rule("OrganizationPolicy-NoOwner-Rule", Effect::Allow, &[EditOwners], &["All"], Some("noOwner()")),
                    rule("OrganizationPolicy-Owner-Rule", Effect::Allow, &[All], &["All"], Some("isOwner()")),
                ],
            ),
        ]
    }

    fn owned_by(name: &str, kind: OwnerKind) -> Target {
        Target::entity("table", EntityFacts { owners: vec![Owner { id: format!("id-{name}"), kind, name: name.into() }], ..Default::default() })
    }

    #[test]
    fn seeded_policies_let_consumers_describe_and_owners_do_everything() {
        let (s, standing, grants) = (u1(), Standing::default(), seeded());
        let theirs = owned_by("u2", OwnerKind::User);
        assert_eq!(decide(&s, &standing, &grants, &[EditDescription], &theirs), Ok(()));
        assert_eq!(decide(&s, &standing, &grants, &[EditDisplayName], &theirs).unwrap_err().to_string(), "Principal: CatalogPrincipal{name='u1'} operations [EditDisplayName] not allowed");
        assert_eq!(decide(&s, &standing, &grants, &[EditDisplayName, Delete], &owned_by("u1", OwnerKind::User)), Ok(()));
        assert_eq!(decide(&s, &standing, &grants, &[EditDisplayName], &owned_by("G1", OwnerKind::Team)), Ok(()), "a direct team owns it");
        assert_eq!(decide(&s, &standing, &grants, &[EditOwners], &Target::entity("table", EntityFacts::default())), Ok(()), "no owner yet");
        let err = decide(&s, &standing, &grants, &[EditOwners, Delete], &theirs).unwrap_err();
        assert_eq!(err.to_string(), "Principal: CatalogPrincipal{name='u1'} operations [EditOwners, Delete] not allowed", "every leftover is named");
    }

    #[test]
    fn deny_wins_whatever_the_order_and_names_its_role_or_team_policy() {
        let s = u1();
        let mut grants = seeded();
        grants.push(grant("P", Some("R"), vec![rule("D", Effect::Deny, &[EditDescription], &["table"], None)]));
        let t = owned_by("u2", OwnerKind::User);
        assert_eq!(decide(&s, &Standing::default(), &grants, &[EditDescription], &t).unwrap_err().to_string(), "Principal: CatalogPrincipal{name='u1'} operation EditDescription denied by role R, policy P, rule D");
        grants.last_mut().unwrap().role = None;
        assert_eq!(decide(&s, &Standing::default(), &grants, &[EditDescription], &t).unwrap_err().to_string(), "Principal: CatalogPrincipal{name='u1'} operation EditDescription denied policy P, rule D");
        assert_eq!(decide(&s, &Standing::default(), &grants, &[EditDescription], &Target::entity("database", EntityFacts::default())), Ok(()), "the deny is about tables");
    }

    #[test]
    fn conditions_read_tags_teams_and_roles() {
        let s = u1();
        let standing = Standing { role_names: vec!["DataSteward".into()], team_names: vec!["G1".into(), "Organization".into()], ..Default::default() };
        let grants = vec![grant("PII", None, vec![rule("pii", Effect::Deny, &[ViewAll], &["All"], Some("matchAnyTag('PII.Sensitive') && !hasAnyRole('DataSteward')"))])];
        let tagged = Target::entity("table", EntityFacts { tags: vec!["PII.Sensitive".into()], ..Default::default() });
        assert_eq!(decide(&s, &standing, &grants, &[ViewBasic], &tagged), Err(Denial::NotAllowed { name: "u1".into(), operations: vec![ViewBasic] }), "a steward is not denied, but nothing allows");
        let plain = Standing::default();
        assert!(matches!(decide(&s, &plain, &grants, &[ViewBasic], &tagged), Err(Denial::Denied { operation: ViewBasic, .. })), "ViewAll denies ViewBasic");
        let team = vec![grant("T", None, vec![rule("in", Effect::Allow, &[All], &["All"], Some("inAnyTeam('organization')"))])];
        assert_eq!(decide(&s, &standing, &team, &[Delete], &tagged), Ok(()));
    }

    #[test]
    fn match_team_needs_the_rule_to_come_through_a_team_of_both() {
        let s = u1();
        let standing = Standing { team_ids: ["g1".to_string(), "org".to_string()].into(), ..Default::default() };
        let mut fence = grant("TeamOnlyPolicy", None, vec![rule("TeamOnlyPolicy-Rule", Effect::Deny, &[All], &["All"], Some("!matchTeam()"))]);
        fence.via_team = Some("g1".into());
        let allow = grant("Everything", None, vec![rule("all", Effect::Allow, &[All], &["All"], None)]);
        let mut inside = owned_by("G1", OwnerKind::Team);
        inside.entity.as_mut().unwrap().owner_teams = ["g1".to_string(), "org".to_string()].into();
        assert_eq!(decide(&s, &standing, &[fence.clone(), allow.clone()], &[ViewBasic], &inside), Ok(()));
        let outsider = Standing::default();
        let err = decide(&s, &outsider, &[fence, allow], &[ViewBasic], &inside).unwrap_err();
        assert_eq!(err.to_string(), "Principal: CatalogPrincipal{name='u1'} operation ViewBasic denied policy TeamOnlyPolicy, rule TeamOnlyPolicy-Rule");
    }

    #[test]
    fn permissions_rank_accesses_and_name_their_rules() {
        let s = u1();
        let grants = seeded();
        let ops = [Create, Delete, ViewAll, EditDescription, EditOwners, EditDisplayName];
        let type_level = permissions(&s, &Standing::default(), &grants, &ops, &Target::of_type("table"));
        let access = |ps: &[Permission], op| ps.iter().find(|p| p.operation == op).unwrap().access;
        assert_eq!(access(&type_level, EditDescription), Access::Allow);
        assert_eq!(access(&type_level, Delete), Access::ConditionalAllow);
        assert_eq!(access(&type_level, EditOwners), Access::ConditionalAllow);
        assert_eq!(access(&type_level, Create), Access::ConditionalAllow);
        let theirs = permissions(&s, &Standing::default(), &grants, &ops, &owned_by("u2", OwnerKind::User));
        assert_eq!((access(&theirs, Delete), access(&theirs, EditDescription)), (Access::NotAllow, Access::Allow));
        let mine = permissions(&s, &Standing::default(), &grants, &ops, &owned_by("u1", OwnerKind::User));
        let delete = mine.iter().find(|p| p.operation == Delete).unwrap().to_json();
        assert_eq!((delete["access"].as_str(), delete["rule"]["name"].as_str(), delete["policy"].as_str()), (Some("allow"), Some("OrganizationPolicy-Owner-Rule"), Some("OrganizationPolicy")));
        assert!(delete.get("role").is_none(), "a team-attached policy has no role");
        assert_eq!(mine.iter().find(|p| p.operation == ViewAll).unwrap().to_json()["role"], json!("DataConsumer"));
        let admin = Subject { is_admin: true, ..u1() };
        let all = permissions(&admin, &Standing::default(), &[], &ops, &Target::of_type("table"));
        assert!(all.iter().all(|p| p.access == Access::Allow && p.to_json().get("rule").is_none()));
    }

    #[test]
    fn entity_facts_read_owners_tags_of_columns_and_reviewers() {
        let table = json!({
            "owners": [{"id": "1", "type": "user", "name": "u2"}, {"id": "2", "type": "team", "name": "G1"}],
            "tags": [{"tagFQN": "Tier.Tier1"}],
            "columns": [{"name": "c", "tags": [{"tagFQN": "PII.Sensitive"}], "children": [{"name": "d", "tags": [{"tagFQN": "Glossary.Term"}]}]}],
            "reviewers": [{"type": "user", "name": "u3", "fullyQualifiedName": "u3"}, {"type": "team", "name": "G9"}],
        });
        let facts = EntityFacts::of(&table);
        assert_eq!(facts.owners.len(), 2);
        assert_eq!(facts.team_owners().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["G1"]);
        assert_eq!(facts.tags, ["Tier.Tier1", "PII.Sensitive", "Glossary.Term"]);
        assert_eq!(facts.reviewers, ["u3", "u3"], "team reviewers do not count");
    }
}

//! Users and bots as OpenMetadata entities. Credentials are not part of the entity (the auth
//! crate keeps them); names and emails are stored lower-case.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::email::Email;
use crate::access::privileged_change;
use crate::audit::Actor;
use crate::engine::{Catalog, Draft, EntityKind};
use crate::policy::{Operation, Target, edit_operations};
use crate::error::{CatalogError, Result};
use crate::fqn::{EntityName, quote};
use crate::kinds::{BOT, ROLE, TEAM, USER};
use ferrometa_store::{Include, Origin};

/// Every field of OpenMetadata's `User` (what `fields=` may name).
pub const USER_FIELDS: &[&str] = &[
    "id", "name", "fullyQualifiedName", "description", "externalId", "displayName", "version", "updatedAt", "updatedBy", "email", "href", "timezone", "isBot",
    "isAdmin", "authenticationMechanism", "profile", "teams", "defaultPersona", "personas", "owns", "follows", "changeDescription", "incrementalChangeDescription",
    "deleted", "roles", "inheritedRoles", "isEmailVerified", "domains", "lastLoginTime", "lastActivityTime",
];
/// The relations of a user, shown only when `fields=` asks for them.
pub const USER_RELATIONS: &[&str] = &["teams", "roles", "inheritedRoles", "owns", "follows", "personas", "defaultPersona", "domains"];
/// Every field of OpenMetadata's `Bot`; its bot user is always shown.
pub const BOT_FIELDS: &[&str] =
    &["id", "name", "fullyQualifiedName", "displayName", "description", "botUser", "provider", "version", "updatedAt", "updatedBy", "href", "changeDescription", "incrementalChangeDescription", "deleted", "domains"];

/// OpenMetadata's `CreateUser` (the fields ferrometa acts on; others are kept as given).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_admin: Option<bool>,
    #[serde(default)]
    pub is_bot: Option<bool>,
    #[serde(default)]
    pub profile: Option<Value>,
    #[serde(default)]
    pub timezone: Option<String>,
    /// Role ids.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Team ids; the teams then list the user (see `crate::relations`).
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// Set by the server (bootstrap, verified SSO sign-up), never by a client.
    #[serde(skip)]
    pub email_verified: bool,
}

/// OpenMetadata's `CreateBot`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBot {
    pub name: String,
    /// Name of the bot's user.
    pub bot_user: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
}

fn set_opt(body: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v.filter(|v| !v.is_null()) {
        body.insert(key.into(), v);
    }
}

impl Catalog {
    /// References to the entities of one type with these ids; 404 for one that does not exist.
    async fn refs(&self, kind: &EntityKind, ids: &[String]) -> Result<Vec<Value>> {
        let mut refs = vec![];
        for id in ids {
            let entity = self.get(kind, id, Include::NonDeleted).await?;
            refs.push(self.reference(kind, &entity));
        }
        Ok(refs)
    }

    /// The relation fields a user request sets: `roles` and `teams` when given.
    async fn user_relations(&self, req: &CreateUser) -> Result<Map<String, Value>> {
        let mut fields = Map::new();
        for (field, kind, ids) in [("roles", &ROLE, &req.roles), ("teams", &TEAM, &req.teams)] {
            if let Some(ids) = ids {
                fields.insert(field.into(), json!(self.refs(kind, ids).await?));
            }
        }
        Ok(fields)
    }

    fn user_body(&self, req: &CreateUser, email: &Email) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("email".into(), json!(email.as_str()));
        body.insert("isAdmin".into(), json!(req.is_admin.unwrap_or(false)));
        body.insert("isBot".into(), json!(req.is_bot.unwrap_or(false)));
        body.insert("isEmailVerified".into(), json!(req.email_verified));
        body.insert("roles".into(), json!([]));
        body.insert("teams".into(), json!([]));
        set_opt(&mut body, "displayName", req.display_name.clone().map(Value::from));
        set_opt(&mut body, "description", req.description.clone().map(Value::from));
        set_opt(&mut body, "profile", req.profile.clone());
        set_opt(&mut body, "timezone", req.timezone.clone().map(Value::from));
        body
    }

    /// Creates a user; 409 when the name or the email is taken.
    pub async fn create_user(&self, req: &CreateUser, by: Origin<'_>) -> Result<Value> {
        let name = EntityName::parse(&req.name.trim().to_lowercase())?;
        let email = Email::parse(&req.email)?;
        let mut body = self.user_body(req, &email);
        body.extend(self.user_relations(req).await?);
        self.create(Draft { kind: &USER, name: name.as_str().into(), fqn: quote(name.as_str()), parent_fqn: None, body }, by).await
    }

    /// PUT semantics for users: create, or update the user of that name (email, admin and bot
    /// flags are kept unless given). Returns the user and whether it was created.
    pub async fn create_or_update_user(&self, req: &CreateUser, by: Origin<'_>) -> Result<(Value, bool)> {
        let Some(existing) = self.user_by_name(&req.name).await? else {
            return Ok((self.create_user(req, by).await?, true));
        };
        if existing["email"].as_str() != Some(Email::parse(&req.email)?.as_str()) {
            return Err(CatalogError::BadRequest("the email of an existing user cannot be changed with PUT".into()));
        }
        let mut fields = Map::new();
        set_opt(&mut fields, "isAdmin", req.is_admin.map(Value::from));
        set_opt(&mut fields, "displayName", req.display_name.clone().map(Value::from));
        set_opt(&mut fields, "description", req.description.clone().map(Value::from));
        set_opt(&mut fields, "profile", req.profile.clone());
        set_opt(&mut fields, "timezone", req.timezone.clone().map(Value::from));
        fields.extend(self.user_relations(req).await?);
        Ok((self.set_user_fields(&existing, Value::Object(fields), by).await?, false))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<Value>> {
        match self.get_by_name(&USER, &quote(&name.to_lowercase()), Include::NonDeleted).await {
            Ok(u) => Ok(Some(u)),
            Err(CatalogError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<Value>> {
        Ok(self.find_by_secondary_key(&USER, email).await?.filter(|u| u["deleted"] != json!(true)))
    }

    /// Sets top-level fields of a user (admin flag, last login, ...) as a new version.
    pub async fn set_user_fields(&self, user: &Value, fields: Value, by: Origin<'_>) -> Result<Value> {
        let mut new = user.as_object().cloned().unwrap_or_default();
        for (k, v) in fields.as_object().cloned().unwrap_or_default() {
            new.insert(k, v);
        }
        self.update(&USER, user, new, None, by).await
    }

    pub async fn create_bot(&self, req: &CreateBot, by: Origin<'_>) -> Result<Value> {
        let name = EntityName::parse(&req.name)?;
        let user = self.user_by_name(&req.bot_user).await?.ok_or_else(|| CatalogError::BadRequest(format!("bot user {} does not exist", req.bot_user)))?;
        if user["isBot"] != json!(true) {
            return Err(CatalogError::BadRequest(format!("User {} is not a bot user", req.bot_user)));
        }
        let mut body = Map::new();
        body.insert("botUser".into(), self.reference(&USER, &user));
        body.insert("provider".into(), json!(req.provider.clone().unwrap_or_else(|| "user".into())));
        set_opt(&mut body, "displayName", req.display_name.clone().map(Value::from));
        set_opt(&mut body, "description", req.description.clone().map(Value::from));
        self.create(Draft { kind: &BOT, name: name.as_str().into(), fqn: quote(name.as_str()), parent_fqn: None, body }, by).await
    }

    /// The entity of this type and (top-level) name, created by the system with `body` unless
    /// it exists (in any state).
    pub(crate) async fn ensure(&self, kind: &'static EntityKind, name: &str, body: Map<String, Value>) -> Result<Value> {
        match self.get_by_name(kind, &quote(name), Include::All).await {
            Err(CatalogError::NotFound(_)) => match self.create(Draft { kind, name: name.into(), fqn: quote(name), parent_fqn: None, body }, Origin::SYSTEM).await {
                // Another replica created it first.
                Err(CatalogError::AlreadyExists) => self.get_by_name(kind, &quote(name), Include::All).await,
                other => other,
            },
            found => found,
        }
    }
}

/// The bots the server seeds and relies on; their users cannot be deleted.
pub const SYSTEM_BOTS: &[&str] = &["ingestion-bot"];

/// The fields of an entity after a JSON Patch.
fn patched(kind: &EntityKind, old: &Value, patch: &json_patch::Patch) -> Result<Map<String, Value>> {
    match crate::engine::apply_patch(old, patch)? {
        Value::Object(body) => Ok(body),
        _ => Err(CatalogError::BadRequest(format!("the patched {} is not an object", kind.name))),
    }
}

/// A patch may not rename an entity or change its id (checked once the patch is authorized).
fn unrenamed(old: &Value, new: &Map<String, Value>) -> Result<()> {
    match ["name", "id"].into_iter().find(|f| new.get(*f) != old.get(*f)) {
        Some(f) => Err(CatalogError::BadRequest(format!("the field {f} cannot be changed with PATCH"))),
        None => Ok(()),
    }
}

impl Catalog {
    /// POST /users by a signed-in caller: `Create` on users; admins only for admins, bots,
    /// roles and teams.
    pub async fn create_user_as(&self, actor: Actor<'_>, req: &CreateUser) -> Result<Value> {
        let body = self.user_fields_of(req).await?;
        self.authorize(actor, &[Operation::Create], &Target::entity(USER.name, Default::default())).await?;
        if privileged_change(&USER, None, &body).is_some() {
            self.require_admin(actor, USER.name).await?;
        }
        self.create_user(req, actor.origin()).await
    }

    /// The fields a create or update request sets that decide what the user may do.
    async fn user_fields_of(&self, req: &CreateUser) -> Result<Map<String, Value>> {
        let mut body = self.user_relations(req).await?;
        set_opt(&mut body, "isAdmin", req.is_admin.map(Value::from));
        set_opt(&mut body, "isBot", req.is_bot.map(Value::from));
        Ok(body)
    }

    /// PUT /users: creates as [`Catalog::create_user_as`], or updates (`EditAll` on the user:
    /// a user may update itself) with admin rights for the privileged fields.
    pub async fn put_user(&self, actor: Actor<'_>, req: &CreateUser) -> Result<(Value, bool)> {
        let Some(existing) = self.user_by_name(&req.name).await? else { return Ok((self.create_user_as(actor, req).await?, true)) };
        let body = self.user_fields_of(req).await?;
        self.authorize_change(actor, &USER, &existing, &[Operation::EditAll], &body).await?;
        self.create_or_update_user(req, actor.origin()).await
    }

    /// PATCH /users/{id}, judged by what the result changes. A user may join a team that is
    /// open to everyone (`isJoinable`) or leave a team by itself; every other change of teams,
    /// roles, admin or bot flags or email needs an admin.
    pub async fn patch_user(&self, actor: Actor<'_>, id: &str, patch: &json_patch::Patch) -> Result<Value> {
        let old = self.get(&USER, id, Include::NonDeleted).await?;
        let new = patched(&USER, &old, patch)?;
        let operations = edit_operations(&old, &new);
        self.authorize(actor, if operations.is_empty() { &[Operation::ViewBasic] } else { &operations }, &Target::entity(USER.name, self.facts(&USER, &old))).await?;
        let mut judged = new.clone();
        if self.joins_open_teams_only(actor, &old, &new).await? {
            judged.remove("teams");
        }
        if privileged_change(&USER, Some(&old), &judged).is_some() {
            self.require_admin(actor, USER.name).await?;
        }
        unrenamed(&old, &new)?;
        self.update(&USER, &old, new, None, actor.origin()).await
    }

    /// Whether a change of a user's teams is the user joining open teams or leaving teams.
    async fn joins_open_teams_only(&self, actor: Actor<'_>, old: &Value, new: &Map<String, Value>) -> Result<bool> {
        if old["id"].as_str() != Some(actor.subject.user_id.as_str()) {
            return Ok(false);
        }
        let ids = |v: Option<&Value>| -> Vec<String> { v.and_then(Value::as_array).into_iter().flatten().filter_map(|t| t["id"].as_str().or(t.as_str()).map(str::to_string)).collect() };
        let before = ids(old.get("teams"));
        for joined in ids(new.get("teams")).into_iter().filter(|t| !before.contains(t)) {
            let team = self.get(&TEAM, &joined, Include::NonDeleted).await?;
            if team["isJoinable"] != json!(true) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// DELETE /users/{id} (`Delete` on the user; a user may delete itself). The users of the
    /// system bots stay.
    pub async fn delete_user_as(&self, actor: Actor<'_>, id: &str, hard: bool) -> Result<Value> {
        let user = self.get(&USER, id, Include::All).await?;
        self.authorize_change(actor, &USER, &user, &[Operation::Delete], &Map::new()).await?;
        let name = user["name"].as_str().unwrap_or_default();
        if user["isBot"] == json!(true) && SYSTEM_BOTS.contains(&name) {
            return Err(CatalogError::BadRequest(format!("System bot user {name} cannot be deleted.")));
        }
        self.delete(&USER, id, hard, actor.origin()).await
    }

    /// PUT /users/restore (`EditAll` on the user).
    pub async fn restore_user_as(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let user = self.get(&USER, id, Include::All).await?;
        self.authorize_change(actor, &USER, &user, &[Operation::EditAll], &Map::new()).await?;
        self.restore(&USER, id, actor.origin()).await
    }

    /// POST /bots (admins: a bot acts with its own rights).
    pub async fn create_bot_as(&self, actor: Actor<'_>, req: &CreateBot) -> Result<Value> {
        self.authorize(actor, &[Operation::Create], &Target::entity(BOT.name, Default::default())).await?;
        self.require_admin(actor, BOT.name).await?;
        self.create_bot(req, actor.origin()).await
    }

    /// PUT /bots: create, or update the description and display name of an existing bot.
    pub async fn put_bot(&self, actor: Actor<'_>, req: &CreateBot) -> Result<(Value, bool)> {
        let existing = match self.get_by_name(&BOT, &quote(&req.name), Include::NonDeleted).await {
            Ok(bot) => bot,
            Err(CatalogError::NotFound(_)) => return Ok((self.create_bot_as(actor, req).await?, true)),
            Err(e) => return Err(e),
        };
        let mut new = existing.as_object().cloned().unwrap_or_default();
        set_opt(&mut new, "description", req.description.clone().map(Value::from));
        set_opt(&mut new, "displayName", req.display_name.clone().map(Value::from));
        self.authorize_change(actor, &BOT, &existing, &edit_operations(&existing, &new), &new).await?;
        Ok((self.update(&BOT, &existing, new, None, actor.origin()).await?, false))
    }

    /// PATCH /bots/{id}: its bot user and provider stay.
    pub async fn patch_bot(&self, actor: Actor<'_>, id: &str, patch: &json_patch::Patch) -> Result<Value> {
        let old = self.get(&BOT, id, Include::NonDeleted).await?;
        let new = patched(&BOT, &old, patch)?;
        self.authorize_change(actor, &BOT, &old, &edit_operations(&old, &new), &new).await?;
        unrenamed(&old, &new)?;
        if ["botUser", "provider"].iter().any(|f| new.get(*f) != old.get(*f)) {
            return Err(CatalogError::BadRequest("botUser and provider of a bot cannot be changed".into()));
        }
        self.update(&BOT, &old, new, None, actor.origin()).await
    }

    /// DELETE /bots/{id}; the system bots stay.
    pub async fn delete_bot_as(&self, actor: Actor<'_>, id: &str, hard: bool) -> Result<Value> {
        let bot = self.get(&BOT, id, Include::All).await?;
        self.authorize_change(actor, &BOT, &bot, &[Operation::Delete], &Map::new()).await?;
        if bot["provider"] == json!("system") {
            return Err(CatalogError::BadRequest(format!("System bot {} cannot be deleted.", bot["name"].as_str().unwrap_or_default())));
        }
        self.delete(&BOT, id, hard, actor.origin()).await
    }

    /// PUT /bots/restore; its bot user is restored separately, as it was deleted separately.
    pub async fn restore_bot_as(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let bot = self.get(&BOT, id, Include::All).await?;
        self.authorize_change(actor, &BOT, &bot, &[Operation::EditAll], &Map::new()).await?;
        self.restore(&BOT, id, actor.origin()).await
    }
}

//! Users and bots as OpenMetadata entities. Credentials are not part of the entity (the auth
//! crate keeps them); names and emails are stored lower-case.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::email::Email;
use crate::engine::{Catalog, Draft, EntityKind};
use crate::error::{CatalogError, Result};
use crate::fqn::{EntityName, quote};
use crate::kinds::{BOT, ROLE, TEAM, USER};
use ferrometa_store::Include;

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
    pub async fn create_user(&self, req: &CreateUser, actor: &str) -> Result<Value> {
        let name = EntityName::parse(&req.name.trim().to_lowercase())?;
        let email = Email::parse(&req.email)?;
        let mut body = self.user_body(req, &email);
        body.extend(self.user_relations(req).await?);
        self.create(Draft { kind: &USER, name: name.as_str().into(), fqn: quote(name.as_str()), parent_fqn: None, body }, actor).await
    }

    /// PUT semantics for users: create, or update the user of that name (email, admin and bot
    /// flags are kept unless given). Returns the user and whether it was created.
    pub async fn create_or_update_user(&self, req: &CreateUser, actor: &str) -> Result<(Value, bool)> {
        let Some(existing) = self.user_by_name(&req.name).await? else {
            return Ok((self.create_user(req, actor).await?, true));
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
        Ok((self.set_user_fields(&existing, Value::Object(fields), actor).await?, false))
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
    pub async fn set_user_fields(&self, user: &Value, fields: Value, actor: &str) -> Result<Value> {
        let mut new = user.as_object().cloned().unwrap_or_default();
        for (k, v) in fields.as_object().cloned().unwrap_or_default() {
            new.insert(k, v);
        }
        self.update(&USER, user, new, None, actor).await
    }

    pub async fn create_bot(&self, req: &CreateBot, actor: &str) -> Result<Value> {
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
        self.create(Draft { kind: &BOT, name: name.as_str().into(), fqn: quote(name.as_str()), parent_fqn: None, body }, actor).await
    }

    /// Creates a role with the given name unless it exists; returns it. The server relies on
    /// these roles, so they cannot be deleted.
    pub async fn ensure_role(&self, name: &str, description: &str) -> Result<Value> {
        let mut body = Map::new();
        body.insert("displayName".into(), json!(name));
        body.insert("description".into(), json!(description));
        body.insert("policies".into(), json!([]));
        body.insert("provider".into(), json!("system"));
        body.insert("allowDelete".into(), json!(false));
        self.ensure(&ROLE, name, body).await
    }

    /// The entity of this type and (top-level) name, created by the system with `body` unless
    /// it exists (in any state).
    pub(crate) async fn ensure(&self, kind: &'static EntityKind, name: &str, body: Map<String, Value>) -> Result<Value> {
        match self.get_by_name(kind, &quote(name), Include::All).await {
            Err(CatalogError::NotFound(_)) => match self.create(Draft { kind, name: name.into(), fqn: quote(name), parent_fqn: None, body }, "system").await {
                // Another replica created it first.
                Err(CatalogError::AlreadyExists) => self.get_by_name(kind, &quote(name), Include::All).await,
                other => other,
            },
            found => found,
        }
    }
}

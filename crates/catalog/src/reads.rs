//! Reads for a caller, for every entity type: by id or name, lists, versions. Each needs the
//! view operations of what it returns, judged on the entity read.

use serde_json::Value;

use crate::access::Key;
use crate::audit::Actor;
use crate::engine::{Catalog, EntityKind, Listing, Page};
use crate::error::{CatalogError, Result};
use crate::policy::{Operation, Subject, Target, view_operations};
use ferrometa_store::Include;

impl Catalog {
    /// An entity by id or FQN, needing the view operations of `fields` on it. A caller who may
    /// not read the type learns nothing of which names exist: the check comes before the 404.
    pub async fn read(&self, actor: Actor<'_>, kind: &EntityKind, key: Key<'_>, include: Include, fields: Option<&str>) -> Result<Value> {
        let operations = view_operations(kind.name, fields);
        let found = match key {
            Key::Id(id) => self.get(kind, id, include).await,
            Key::Fqn(fqn) => self.get_by_name(kind, fqn, include).await,
        };
        match found {
            Ok(entity) => {
                self.authorize(actor, &operations, &Target::entity(kind.name, self.facts(kind, &entity))).await?;
                Ok(entity)
            }
            Err(CatalogError::NotFound(m)) => {
                self.authorize(actor, &operations, &Target::of_type(kind.name)).await?;
                Err(CatalogError::NotFound(m))
            }
            Err(e) => Err(e),
        }
    }

    /// A page of the entities of a type that have no container (users, bots, ...).
    pub async fn read_list(&self, actor: Actor<'_>, kind: &EntityKind, listing: &Listing<'_>, fields: Option<&str>) -> Result<Page> {
        self.read_list_flagged(actor, kind, listing, fields, None).await
    }

    /// [`Self::read_list`], only the entities whose boolean field has the given value when a
    /// flag is given (`GET /users?isBot=true`).
    pub async fn read_list_flagged(&self, actor: Actor<'_>, kind: &EntityKind, listing: &Listing<'_>, fields: Option<&str>, flag: Option<(&'static str, bool)>) -> Result<Page> {
        self.authorize(actor, &view_operations(kind.name, fields), &Target::of_type(kind.name)).await?;
        let Some(flag) = flag else { return self.list(kind, None, listing.include, listing.limit, listing.after, listing.before).await };
        crate::engine::check_limit(listing.limit)?;
        let page = self.store().list_flagged(kind.name, flag, listing.include, listing.limit, listing.after, listing.before).await?;
        Ok(Page { data: self.loaded_all(kind, &page.rows).await?, before: page.before, after: page.after, total: page.total })
    }

    /// The entity whose history is read: versions show every field, so they need `ViewAll`.
    async fn read_history_of(&self, actor: Actor<'_>, kind: &EntityKind, id: &str) -> Result<()> {
        self.read(actor, kind, Key::Id(id), Include::All, Some("*")).await.map(|_| ())
    }

    pub async fn read_versions(&self, actor: Actor<'_>, kind: &EntityKind, id: &str) -> Result<Value> {
        self.read_history_of(actor, kind, id).await?;
        self.versions(kind, id).await
    }

    pub async fn read_version(&self, actor: Actor<'_>, kind: &EntityKind, id: &str, version: &str) -> Result<Value> {
        self.read_history_of(actor, kind, id).await?;
        self.version(kind, id, version).await
    }

    /// Whether a caller may do `operation` on an entity (or, without one, on its type): what
    /// the web UI asks before it offers an action. A question, not a request: a "no" is not
    /// recorded as a refusal.
    pub async fn may(&self, subject: &Subject, kind: &EntityKind, entity: Option<&Value>, operation: Operation) -> bool {
        let target = match entity {
            Some(e) => Target::entity(kind.name, self.facts(kind, e)),
            None => Target::of_type(kind.name),
        };
        let needs_admin = !operation.is_view() && crate::access::privileged_change(kind, None, &serde_json::Map::new()).is_some();
        matches!(self.judge(subject, &[operation], &target).await, Ok(None)) && (subject.is_admin || !needs_admin)
    }

    /// Whether a caller may change these top-level fields of an entity, as the write's use
    /// case would judge that change: each field's edit operation on the entity, and admin
    /// rights when one of them alters what someone may do (a user's roles or teams, any field
    /// of a role or policy).
    pub async fn may_change(&self, subject: &Subject, kind: &EntityKind, entity: &Value, fields: &[&str]) -> bool {
        let operations: Vec<Operation> = fields.iter().map(|f| crate::policy::field_edit_operation(f)).collect();
        let privileged = fields.iter().any(|f| crate::access::is_privileged_field(kind, f));
        let target = Target::entity(kind.name, self.facts(kind, entity));
        matches!(self.judge(subject, &operations, &target).await, Ok(None)) && (subject.is_admin || !privileged)
    }
}

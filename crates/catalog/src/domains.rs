//! Domains (nested under a parent domain) and data products (in a domain), one declaration each,
//! and the assets they hold: an asset names its `domain` (and `dataProducts`) itself, by FQN in a
//! create request or by reference in a patch, and a domain's or data product's `assets` are the
//! live entities that name it (relation edges written with the asset). `PUT /domains/{name}/assets/add`
//! and `/remove` (and the same for data products) set or clear that on each asset, judged by what
//! it changes on the asset.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::data::{AssetType, SERVICE, array_of, asset_type, bad, bulk_result, one_of, shown};
use crate::engine::{Catalog, EntityKind};
use crate::error::{CatalogError, Result};
use crate::kinds::{DATA_PRODUCT, DOMAIN, USER, kind_named};
use crate::policy::{Operation, edit_operations};
use crate::schema::*;
use ferrometa_store::{Include, RelationSide};

pub static DOMAINS: AssetType = AssetType {
    kind: &DOMAIN,
    create_fields: DOMAIN_CREATE,
    required: DOMAIN_REQUIRED,
    entity_fields: DOMAIN_FIELDS,
    containers: &[("parent", &DOMAIN)],
    optional_fields: &["children", "owners", "experts", "assets", "tags"],
    check: Some(check_domain),
    filters: &[("parent", &DOMAIN)],
    search_index: Some("domain_search_index"),
    ..SERVICE
};

pub static DATA_PRODUCTS: AssetType = AssetType {
    kind: &DATA_PRODUCT,
    create_fields: DATA_PRODUCT_CREATE,
    required: DATA_PRODUCT_REQUIRED,
    entity_fields: DATA_PRODUCT_FIELDS,
    optional_fields: &["owners", "experts", "assets", "tags", "extension"],
    search_index: Some("data_product_search_index"),
    ..SERVICE
};

const DOMAIN_TYPES: &[&str] = &["Source-aligned", "Consumer-aligned", "Aggregate"];
/// The relation from a domain or data product to each asset that names it.
const HOLDS: &str = "holds";

fn check_domain(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    one_of("domainType", body.get("domainType").unwrap_or(&Value::Null), DOMAIN_TYPES)
}

/// `{assets: [EntityReference]}` of `/assets/add` and `/assets/remove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetsRequest {
    pub assets: Vec<Value>,
}

impl Catalog {
    /// A domain's or data product's experts (user names) as references, a data product's domain
    /// (by FQN) as a reference; their FQNs are their names (a domain's under its parent's).
    pub(crate) async fn place_domain_entity(&self, kind: &str, req: &mut Map<String, Value>) -> Result<()> {
        if kind != DOMAIN.name && kind != DATA_PRODUCT.name {
            return Ok(());
        }
        req.remove("fullyQualifiedName");
        if let Some(experts) = req.remove("experts") {
            let mut refs = vec![];
            for name in array_of("experts", &experts)? {
                let name = name.as_str().ok_or_else(|| bad("experts must hold user names"))?;
                refs.push(self.reference(&USER, &self.get_by_name(&USER, name, Include::NonDeleted).await?));
            }
            req.insert("experts".into(), json!(refs));
        }
        if kind == DATA_PRODUCT.name {
            let domain = req.remove("domain").and_then(|d| d.as_str().map(str::to_string)).ok_or_else(|| bad("domain must be the FQN of a domain"))?;
            req.insert("domain".into(), self.reference(&DOMAIN, &self.get_by_name(&DOMAIN, &domain, Include::NonDeleted).await?));
            req.remove("assets");
        }
        Ok(())
    }

    /// An asset's `domain` and `dataProducts` as a create request (FQNs) or a patch
    /// (references) gives them, as references to live ones.
    pub(crate) async fn resolve_domains(&self, body: &mut Map<String, Value>, old: Option<&Value>) -> Result<()> {
        if let Some(named) = body.get("domain").filter(|v| !v.is_null()).cloned()
            && old.and_then(|o| o.get("domain")) != Some(&named)
        {
            body.insert("domain".into(), self.reference(&DOMAIN, &self.named_or_referenced(&DOMAIN, &named).await?));
        }
        if let Some(listed) = body.get("dataProducts").filter(|v| !v.is_null()).cloned()
            && old.and_then(|o| o.get("dataProducts")) != Some(&listed)
        {
            let mut refs = vec![];
            for named in array_of("dataProducts", &listed)? {
                refs.push(self.reference(&DATA_PRODUCT, &self.named_or_referenced(&DATA_PRODUCT, named).await?));
            }
            body.insert("dataProducts".into(), json!(refs));
        }
        Ok(())
    }

    async fn named_or_referenced(&self, kind: &EntityKind, named: &Value) -> Result<Value> {
        match (named.as_str(), named["id"].as_str()) {
            (Some(fqn), _) => self.get_by_name(kind, fqn, Include::NonDeleted).await,
            (None, Some(id)) => self.get(kind, id, Include::NonDeleted).await,
            _ => Err(bad(format!("{} must be named by FQN or referenced by id", kind.name))),
        }
    }

    /// The edges from an asset's domain and data products to it, after a write of it (a data
    /// product's own domain is where it lives, not one of the domain's assets).
    pub(crate) async fn sync_domain_edges(&self, kind: &EntityKind, old: Option<&Value>, new: &Value) -> Result<()> {
        if holds_assets(kind) {
            return Ok(());
        }
        for (field, holder) in [("domain", &DOMAIN), ("dataProducts", &DATA_PRODUCT)] {
            if old.map(|o| &o[field]) == Some(&new[field]) || (old.is_none() && new[field].is_null()) {
                continue;
            }
            let ids: Vec<String> = match &new[field] {
                Value::Array(refs) => refs.iter().filter_map(|r| r["id"].as_str().map(str::to_string)).collect(),
                reference => reference["id"].as_str().map(str::to_string).into_iter().collect(),
            };
            let side = RelationSide { relation: HOLDS, outgoing: false, other_type: holder.name };
            self.store().replace_relations(new["id"].as_str().unwrap_or_default(), kind.name, side, &ids).await?;
        }
        Ok(())
    }

    /// A domain's or data product's `assets`: the live entities that name it.
    pub(crate) async fn held_assets(&self, holder: &Value) -> Result<Vec<Value>> {
        let rows = self.store().reached_by(holder["id"].as_str().unwrap_or_default(), HOLDS).await?;
        let mut refs = vec![];
        for row in rows {
            if let Some(kind) = kind_named(&row.entity_type) {
                refs.push(self.reference(kind, &self.entity_of(&row)?));
            }
        }
        Ok(refs)
    }

    /// `PUT /domains/{name}/assets/add|remove` and `/dataProducts/{name}/assets/add|remove`
    /// (`EditAll` on the domain or data product): each asset's `domain` (or `dataProducts`)
    /// set or cleared, authorized as that change of the asset; a `BulkOperationResult`.
    pub async fn change_assets(&self, actor: Actor<'_>, holder_kind: &'static EntityKind, name: &str, request: AssetsRequest, add: bool) -> Result<Value> {
        let holder = self.get_by_name(holder_kind, name, Include::NonDeleted).await?;
        self.authorize_change(actor, holder_kind, &holder, &[Operation::EditAll], &Map::new()).await?;
        let reference = self.reference(holder_kind, &holder);
        let (mut passed, mut failed) = (vec![], vec![]);
        for asset in request.assets {
            match self.change_asset(actor, &asset, &reference, holder_kind, add).await {
                Ok(()) => passed.push(json!({"request": asset, "message": "Success"})),
                Err(CatalogError::Forbidden(m)) => return Err(CatalogError::Forbidden(m)),
                Err(e) => failed.push(json!({"request": asset, "message": e.to_string()})),
            }
        }
        Ok(bulk_result(passed, failed))
    }

    async fn change_asset(&self, actor: Actor<'_>, asset: &Value, holder: &Value, holder_kind: &EntityKind, add: bool) -> Result<()> {
        let t = asset["type"].as_str().and_then(asset_type).ok_or_else(|| bad(format!("Unknown asset type {}", shown(asset["type"].as_str().unwrap_or("null")))))?;
        let id = asset["id"].as_str().ok_or_else(|| bad("an asset reference needs an id"))?;
        let old = self.get(t.kind, id, Include::NonDeleted).await?;
        let mut new = old.as_object().cloned().unwrap_or_default();
        if holder_kind.name == DOMAIN.name {
            match add {
                true => new.insert("domain".into(), holder.clone()),
                false if old["domain"]["id"] == holder["id"] => new.remove("domain"),
                false => None,
            };
        } else {
            let mut products: Vec<Value> = old["dataProducts"].as_array().cloned().unwrap_or_default().into_iter().filter(|p| p["id"] != holder["id"]).collect();
            if add {
                products.push(holder.clone());
            }
            new.insert("dataProducts".into(), json!(products));
        }
        self.authorize_change(actor, t.kind, &old, &edit_operations(&old, &new), &new).await?;
        self.update_asset(t, &old, new, actor.origin()).await.map(|_| ())
    }
}

/// Whether a type is a domain or a data product (which list `assets`).
pub(crate) fn holds_assets(kind: &EntityKind) -> bool {
    kind.name == DOMAIN.name || kind.name == DATA_PRODUCT.name
}

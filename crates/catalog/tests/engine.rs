//! Entity engine semantics on SQLite and PostgreSQL.

use ferrometa_catalog::kinds::{ROLE, USER};
use ferrometa_catalog::users::CreateUser;
use ferrometa_catalog::{Catalog, CatalogError, Draft};
use ferrometa_store::Origin;
use ferrometa_store::Include;
use ferrometa_store::testing::fresh_stores;
use serde_json::{Map, Value, json};

/// A change by `name`, outside any request.
fn by(name: &str) -> Origin<'_> {
    Origin { actor: name, client: None }
}

async fn each_catalog(test: impl AsyncFn(&Catalog)) {
    for (store, _dir) in fresh_stores().await {
        test(&Catalog::new(store, "http://localhost:8585/")).await;
    }
}

fn draft(name: &str, body: Value) -> Draft {
    let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    Draft { kind: &ROLE, name: name.into(), fqn: name.into(), parent_fqn: None, body }
}

#[tokio::test]
async fn put_creates_then_updates_and_no_change_keeps_the_version() {
    each_catalog(async |c| {
        let (created, is_new) = c.create_or_update(draft("Steward", json!({"description": "a"})), by("admin")).await.unwrap();
        assert!(is_new);
        assert_eq!(created["version"], json!(0.1));
        assert_eq!(created["href"], json!(format!("http://localhost:8585/api/v1/roles/{}", created["id"].as_str().unwrap())));
        let (same, is_new) = c.create_or_update(draft("Steward", json!({"description": "a"})), by("bot")).await.unwrap();
        assert!(!is_new);
        assert_eq!(same, created, "an identical PUT creates no new version");
        let (updated, _) = c.create_or_update(draft("Steward", json!({"description": "b"})), by("bot")).await.unwrap();
        assert_eq!(updated["version"], json!(0.2));
        assert_eq!(updated["updatedBy"], json!("bot"));
        assert_eq!(updated["changeDescription"]["fieldsUpdated"][0]["name"], json!("description"));
        let history = c.versions(&ROLE, created["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(history["versions"].as_array().unwrap().len(), 2);
        let v1 = c.version(&ROLE, created["id"].as_str().unwrap(), "0.1").await.unwrap();
        assert_eq!(v1["description"], json!("a"));
    })
    .await;
}

#[tokio::test]
async fn removing_a_field_is_a_major_version() {
    each_catalog(async |c| {
        let (e, _) = c.create_or_update(draft("R", json!({"description": "a", "displayName": "R"})), by("u")).await.unwrap();
        let mut body = e.as_object().unwrap().clone();
        body.remove("displayName");
        let updated = c.update(&ROLE, &e, body, None, by("u")).await.unwrap();
        assert_eq!(updated["version"], json!(1.1_f64.floor()));
        assert_eq!(updated["changeDescription"]["fieldsDeleted"][0]["name"], json!("displayName"));
    })
    .await;
}

#[tokio::test]
async fn json_patch_applies_and_protects_identity_fields() {
    each_catalog(async |c| {
        let (e, _) = c.create_or_update(draft("R", json!({"description": "a"})), by("u")).await.unwrap();
        let id = e["id"].as_str().unwrap();
        let patch: json_patch::Patch = serde_json::from_value(json!([{"op": "replace", "path": "/description", "value": "new"}])).unwrap();
        let p = c.patch(&ROLE, id, &patch, by("editor")).await.unwrap();
        assert_eq!((p["description"].clone(), p["version"].clone()), (json!("new"), json!(0.2)));
        let rename: json_patch::Patch = serde_json::from_value(json!([{"op": "replace", "path": "/name", "value": "X"}])).unwrap();
        assert!(matches!(c.patch(&ROLE, id, &rename, by("u")).await, Err(CatalogError::BadRequest(_))));
        let bad: json_patch::Patch = serde_json::from_value(json!([{"op": "test", "path": "/description", "value": "nope"}])).unwrap();
        assert!(matches!(c.patch(&ROLE, id, &bad, by("u")).await, Err(CatalogError::BadRequest(_))));
    })
    .await;
}

#[tokio::test]
async fn soft_delete_restore_and_hard_delete() {
    each_catalog(async |c| {
        let (e, _) = c.create_or_update(draft("R", json!({})), by("u")).await.unwrap();
        let id = e["id"].as_str().unwrap();
        let d = c.delete(&ROLE, id, false, by("u")).await.unwrap();
        assert_eq!((d["deleted"].clone(), d["version"].clone()), (json!(true), json!(1.0)));
        assert!(matches!(c.get(&ROLE, id, Include::NonDeleted).await, Err(CatalogError::NotFound(_))));
        assert!(c.get(&ROLE, id, Include::Deleted).await.is_ok());
        let r = c.restore(&ROLE, id, by("u")).await.unwrap();
        assert_eq!((r["deleted"].clone(), r["version"].clone()), (json!(false), json!(1.1)));
        c.delete(&ROLE, id, true, by("u")).await.unwrap();
        let err = c.get(&ROLE, id, Include::All).await.unwrap_err();
        assert_eq!(err.to_string(), format!("role instance for {id} not found"));
    })
    .await;
}

#[tokio::test]
async fn users_are_lower_cased_and_unique_by_name_and_email() {
    each_catalog(async |c| {
        let req = CreateUser { name: "Alice".into(), email: "Alice@Example.com".into(), ..Default::default() };
        let u = c.create_user(&req, by("admin")).await.unwrap();
        assert_eq!((u["name"].clone(), u["email"].clone()), (json!("alice"), json!("alice@example.com")));
        assert_eq!(c.user_by_email("ALICE@example.com").await.unwrap().unwrap()["id"], u["id"]);
        let same_email = CreateUser { name: "alice2".into(), email: "alice@example.com".into(), ..Default::default() };
        assert!(matches!(c.create_user(&same_email, by("admin")).await, Err(CatalogError::AlreadyExists)));
        let bad = CreateUser { name: "bob".into(), email: "not-an-email".into(), ..Default::default() };
        assert!(matches!(c.create_user(&bad, by("admin")).await, Err(CatalogError::BadRequest(_))));
        let page = c.list(&USER, None, Include::NonDeleted, 10, None, None).await.unwrap();
        assert_eq!(page.total, 1);
    })
    .await;
}

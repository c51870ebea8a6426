//! Settings, entity extensions and time series in the store, on SQLite and (when configured)
//! PostgreSQL: upserts, ranges newest first, retention, and removal with the entity.

use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{EntityRow, SeriesEntry, now_ms};

fn table(id: &str, fqn: &str) -> EntityRow {
    EntityRow { id: id.into(), entity_type: "table".into(), fqn: fqn.into(), secondary_key: None, parent_fqn: None, deleted: false, updated_at: now_ms(), json: "{}".into() }
}

fn entry(fqn: &str, ts: i64, part: &str, json: &str) -> SeriesEntry {
    SeriesEntry { fqn: fqn.into(), extension: "table.tableProfile", ts, part: part.into(), json: json.into() }
}

#[tokio::test]
async fn series_are_ranges_newest_first_with_retention_and_go_with_their_entity() {
    for (s, _dir) in fresh_stores().await {
        s.insert_entity(&table("t", "S.D.X.Orders"), "0.1", &[], None).await.unwrap();
        s.put_series(&[entry("s.d.x.orders", 1, "", "1"), entry("S.D.X.Orders", 2, "", "2"), entry("S.D.X.Orders.email", 2, "", "c")], None).await.unwrap();
        s.put_series(&[entry("S.D.X.Orders", 2, "", "2b"), entry("S.D.X.Orders", 2, "x", "2x")], None).await.unwrap();
        assert_eq!(s.series("S.D.X.Orders", "table.tableProfile", 0, 10).await.unwrap(), ["2b", "2x", "1"], "keys ignore case; same ts and part replaces");
        assert_eq!(s.latest_in_series("S.D.X.Orders", "table.tableProfile").await.unwrap().as_deref(), Some("2b"));
        s.put_series(&[entry("S.D.X.Orders", 5, "", "5")], Some(2)).await.unwrap();
        assert_eq!(s.series("S.D.X.Orders", "table.tableProfile", 0, 10).await.unwrap(), ["5", "2b", "2x"], "entries before the retention limit are dropped");
        assert_eq!(s.delete_series_at("S.D.X.Orders", "table.tableProfile", 2).await.unwrap(), 2);
        s.insert_entity(&table("u", "S.D.X.Orders2"), "0.1", &[], None).await.unwrap();
        s.put_series(&[entry("S.D.X.Orders2", 1, "", "other")], None).await.unwrap();
        assert!(s.delete_entity("t", None).await.unwrap());
        assert_eq!(s.series("S.D.X.Orders", "table.tableProfile", 0, 10).await.unwrap(), Vec::<String>::new());
        assert_eq!(s.series("S.D.X.Orders.email", "table.tableProfile", 0, 10).await.unwrap(), Vec::<String>::new(), "its columns' series too");
        assert_eq!(s.series("S.D.X.Orders2", "table.tableProfile", 0, 10).await.unwrap(), ["other"], "not a sibling's whose name it prefixes");
    }
}

#[tokio::test]
async fn extensions_and_settings_are_replaced_in_place() {
    for (s, _dir) in fresh_stores().await {
        assert!(!s.put_entity_extension("t", "table.sampleData", "{}").await.unwrap(), "no extension of a missing entity");
        s.insert_entity(&table("t", "s.d.x.t"), "0.1", &[], None).await.unwrap();
        assert!(s.put_entity_extension("t", "table.sampleData", "1").await.unwrap());
        assert!(s.put_entity_extension("t", "table.sampleData", "2").await.unwrap());
        assert_eq!(s.entity_extension("t", "table.sampleData").await.unwrap().as_deref(), Some("2"));
        assert!(s.delete_entity_extension("t", "table.sampleData").await.unwrap());
        assert_eq!(s.system_setting("profilerConfiguration").await.unwrap(), None);
        s.put_system_setting("profilerConfiguration", "a").await.unwrap();
        s.put_system_setting("profilerConfiguration", "b").await.unwrap();
        assert_eq!(s.system_setting("profilerConfiguration").await.unwrap().as_deref(), Some("b"));
    }
}

//! Which operations a request needs. A read needs the view operations of the fields it asks
//! for; a write is judged by what it changes — the stored entity against the resulting one,
//! field by field — never by the shape of the request, so a JSON Patch on the root path or a
//! PUT carrying extra fields needs what its effect needs.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::operation::Operation::{self, *};

/// Fields every type shows with `ViewBasic` (OpenMetadata's basic fields).
const BASIC_FIELDS: &[&str] = &["owners", "followers", "votes", "tags", "extension", "domain", "dataProducts", "experts"];
/// A table's further basic fields.
const TABLE_BASIC_FIELDS: &[&str] = &["columns", "tableConstraints", "tablePartition", "joins", "schemaDefinition", "dataModel"];

fn view_operation(resource: &str, field: &str) -> Operation {
    match (resource, field) {
        (_, f) if BASIC_FIELDS.contains(&f) => ViewBasic,
        ("table", f) if TABLE_BASIC_FIELDS.contains(&f) => ViewBasic,
        ("table", "usageSummary") => ViewUsage,
        ("table", "customMetrics" | "testSuite") => ViewTests,
        ("table", "sampleData") => ViewSampleData,
        _ => ViewAll,
    }
}

/// The operations a read with `fields=` needs: `ViewBasic` without fields, each field's own
/// operation, `ViewAll` as soon as one field has none (or for `*`).
pub fn view_operations(resource: &str, fields: Option<&str>) -> Vec<Operation> {
    let fields: Vec<&str> = fields.unwrap_or_default().split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    if fields.is_empty() {
        return vec![ViewBasic];
    }
    let ops: BTreeSet<Operation> = fields.iter().map(|f| if *f == "*" { ViewAll } else { view_operation(resource, f) }).collect();
    if ops.contains(&ViewAll) { vec![ViewAll] } else { ops.into_iter().collect() }
}

/// Fields a write never changes itself (the engine maintains them), ignored when comparing.
const MAINTAINED: &[&str] =
    &["id", "version", "updatedAt", "updatedBy", "href", "changeDescription", "incrementalChangeDescription", "fullyQualifiedName", "deleted", "childrenCount", "userCount", "inheritedRoles", "usageCount", "termCount"];

/// The edit operation of a top-level field (OpenMetadata's PATCH field map); `None` for tags,
/// which are judged label by label, and columns, judged column by column.
fn field_operation(field: &str) -> Option<Operation> {
    Some(match field {
        "description" => EditDescription,
        "displayName" => EditDisplayName,
        "owners" => EditOwners,
        "reviewers" => EditReviewers,
        "extension" => EditCustomFields,
        "users" => EditUsers,
        "roles" | "defaultRoles" => EditRole,
        "policies" => EditPolicy,
        "teams" => EditTeams,
        "tags" | "columns" => return None,
        _ => EditAll,
    })
}

/// The operation a change of one top-level field needs, for asking before a write (the UI
/// offering a form): tags as a change of classification tags, columns as `EditAll` (the write
/// itself judges them label by label and column by column, never more strictly).
pub fn field_edit_operation(field: &str) -> Operation {
    field_operation(field).unwrap_or(if field == "tags" { EditTags } else { EditAll })
}

/// Null, absent, `""` and `[]` all mean "none" when comparing.
fn is_none(v: Option<&Value>) -> bool {
    v.is_none_or(|v| v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
}

fn differs(old: Option<&Value>, new: Option<&Value>) -> bool {
    !(is_none(old) && is_none(new)) && old != new
}

/// The operations a write from `old` to `new` needs. Any change outside the mapped fields
/// needs `EditAll` (and then only that); no change needs nothing.
pub fn edit_operations(old: &Value, new: &Map<String, Value>) -> Vec<Operation> {
    let empty = Map::new();
    let old_obj = old.as_object().unwrap_or(&empty);
    let mut ops = BTreeSet::new();
    let keys: BTreeSet<&String> = old_obj.keys().chain(new.keys()).filter(|k| !MAINTAINED.contains(&k.as_str())).collect();
    for key in keys {
        if !differs(old_obj.get(key), new.get(key)) {
            continue;
        }
        match key.as_str() {
            "tags" => tag_operations(old_obj.get(key), new.get(key), &mut ops),
            "columns" => column_operations(old_obj.get(key), new.get(key), &mut ops),
            field => {
                ops.insert(field_operation(field).unwrap_or(EditAll));
            }
        }
    }
    if ops.contains(&EditAll) { vec![EditAll] } else { ops.into_iter().collect() }
}

/// Each tag label added or removed needs its own operation: a tier `EditTier`, a glossary term
/// `EditGlossaryTerms`, a classification tag `EditTags`.
fn tag_operations(old: Option<&Value>, new: Option<&Value>, ops: &mut BTreeSet<Operation>) {
    let labels = |v: Option<&Value>| -> Vec<(String, String)> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|l| (l["tagFQN"].as_str().unwrap_or_default().to_string(), l["source"].as_str().unwrap_or_default().to_string()))
            .collect()
    };
    let (before, after) = (labels(old), labels(new));
    let changed = before.iter().filter(|l| !after.contains(l)).chain(after.iter().filter(|l| !before.contains(l)));
    for (fqn, source) in changed {
        ops.insert(match source.as_str() {
            _ if fqn.starts_with("Tier.") => EditTier,
            "Classification" => EditTags,
            "Glossary" => EditGlossaryTerms,
            _ => EditAll,
        });
    }
    // Same labels, other details (label type, state, order): a change to the tags.
    if before == after && old != new && ops.is_empty() {
        ops.insert(EditTags);
    }
}

/// Columns matched by name: a changed description, display name or tag list of a column is
/// that edit; anything else (a new, removed or retyped column) is `EditAll`.
fn column_operations(old: Option<&Value>, new: Option<&Value>, ops: &mut BTreeSet<Operation>) {
    let columns = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (before, after) = (columns(old), columns(new));
    let name = |c: &Value| c["name"].as_str().map(str::to_lowercase);
    if before.len() != after.len() || before.iter().zip(&after).any(|(b, a)| name(b) != name(a)) {
        ops.insert(EditAll);
        return;
    }
    for (b, a) in before.iter().zip(&after) {
        let keys: BTreeSet<&String> = b.as_object().into_iter().flat_map(|o| o.keys()).chain(a.as_object().into_iter().flat_map(|o| o.keys())).collect();
        for key in keys.into_iter().filter(|k| differs(b.get(*k), a.get(*k))) {
            match key.as_str() {
                "description" => {
                    ops.insert(EditDescription);
                }
                "displayName" => {
                    ops.insert(EditDisplayName);
                }
                "tags" => tag_operations(b.get("tags"), a.get("tags"), ops),
                "children" => column_operations(b.get("children"), a.get("children"), ops),
                _ => {
                    ops.insert(EditAll);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(old: Value, new: Value) -> Vec<Operation> {
        edit_operations(&old, new.as_object().unwrap())
    }

    #[test]
    fn reads_need_the_view_operations_of_their_fields() {
        assert_eq!(view_operations("table", None), [ViewBasic]);
        assert_eq!(view_operations("table", Some("owners, columns,tags")), [ViewBasic]);
        assert_eq!(view_operations("table", Some("usageSummary")), [ViewUsage]);
        assert_eq!(view_operations("table", Some("owners,sampleData,testSuite")), [ViewBasic, ViewTests, ViewSampleData]);
        assert_eq!(view_operations("table", Some("profile")), [ViewAll]);
        assert_eq!(view_operations("table", Some("*")), [ViewAll]);
        assert_eq!(view_operations("database", Some("columns")), [ViewAll], "columns are basic for tables only");
    }

    #[test]
    fn writes_are_judged_by_what_they_change() {
        let t = json!({"id": "1", "name": "t", "description": "a", "version": 0.1, "owners": [], "columns": [{"name": "c", "dataType": "INT", "tags": []}]});
        let with = |f: &dyn Fn(&mut Value)| {
            let mut n = t.clone();
            f(&mut n);
            n
        };
        assert_eq!(ops(t.clone(), with(&|n| n["description"] = json!("b"))), [EditDescription]);
        assert_eq!(ops(t.clone(), with(&|n| n["displayName"] = json!("T"))), [EditDisplayName]);
        assert_eq!(ops(t.clone(), with(&|n| n["owners"] = json!([{"id": "u", "type": "user"}]))), [EditOwners]);
        assert_eq!(ops(t.clone(), with(&|n| n["columns"][0]["description"] = json!("d"))), [EditDescription]);
        assert_eq!(ops(t.clone(), with(&|n| n["columns"][0]["dataType"] = json!("BIGINT"))), [EditAll]);
        assert_eq!(ops(t.clone(), with(&|n| n["columns"] = json!([]))), [EditAll], "a removed column");
        assert_eq!(ops(t.clone(), with(&|n| {
            n["description"] = json!("b");
            n["isAdmin"] = json!(true);
        })), [EditAll], "anything unmapped is EditAll, and then only that");
        assert_eq!(ops(t.clone(), with(&|n| n["version"] = json!(9))), Vec::<Operation>::new(), "maintained fields do not count");
        assert_eq!(ops(t.clone(), with(&|n| n["displayName"] = json!(""))), Vec::<Operation>::new(), "\"\" is no display name");
        assert_eq!(ops(json!({"roles": [{"id": "r"}]}), json!({"roles": []})), [EditRole]);
        assert_eq!(ops(json!({}), json!({"policies": [{"id": "p"}], "users": [{"id": "u"}]})), [EditPolicy, EditUsers]);
    }

    #[test]
    fn tag_labels_need_the_operation_of_their_kind() {
        let label = |fqn: &str, source: &str| json!({"tagFQN": fqn, "source": source, "labelType": "Manual", "state": "Confirmed"});
        let table = json!({"tags": [label("PII.Sensitive", "Classification")], "columns": [{"name": "c", "dataType": "INT", "tags": []}]});
        let mut tier = table.clone();
        tier["tags"].as_array_mut().unwrap().push(label("Tier.Tier1", "Classification"));
        assert_eq!(ops(table.clone(), tier), [EditTier]);
        let mut glossary = table.clone();
        glossary["columns"][0]["tags"] = json!([label("Business.Term", "Glossary")]);
        assert_eq!(ops(table.clone(), glossary), [EditGlossaryTerms]);
        let mut removed = table.clone();
        removed["tags"] = json!([]);
        assert_eq!(ops(table.clone(), removed), [EditTags]);
        let mut relabelled = table.clone();
        relabelled["tags"][0]["state"] = json!("Suggested");
        assert_eq!(ops(table, relabelled), [EditTags]);
    }
}

//! Data quality: OpenMetadata 1.6's test definitions (seeded), test suites (a table's basic
//! suite, or a logical one) and test cases, each test case's results kept as a time series keyed
//! by its FQN. A test case names what it tests by an entity link (`<#E::table::<fqn>>`, or
//! `…::columns::<column>>`) and lives under that table: its FQN is the table's (and column's)
//! followed by its name. Results need `EditTests` on the test case to write, `ViewTests` to
//! read.

use serde_json::{Map, Value, json};

use crate::access::Key;
use crate::audit::Actor;
use crate::data::{AssetType, SERVICE, array_of, bad, known_fields, one_of, shown, string_field, DATA_TYPES};
use crate::engine::{Catalog, Draft};
use crate::error::{CatalogError, Result};
use crate::fqn::quote;
use crate::kinds::{TABLE, TEST_CASE, TEST_DEFINITION, TEST_SUITE};
use crate::policy::{Operation, Target};
use crate::profiles::TimeRange;
use crate::schema::*;
use ferrometa_store::{Include, SeriesEntry};

pub static TEST_DEFINITIONS: AssetType = AssetType {
    kind: &TEST_DEFINITION,
    create_fields: TEST_DEFINITION_CREATE,
    required: TEST_DEFINITION_REQUIRED,
    entity_fields: TEST_DEFINITION_ALL_FIELDS,
    optional_fields: &["owners", "domain"],
    check: Some(check_test_definition),
    ..SERVICE
};

pub static TEST_SUITES: AssetType = AssetType {
    kind: &TEST_SUITE,
    create_fields: TEST_SUITE_CREATE,
    required: TEST_SUITE_REQUIRED,
    entity_fields: TEST_SUITE_FIELDS,
    optional_fields: &["owners", "tests", "summary", "pipelines", "tags", "domain"],
    ..SERVICE
};

pub static TEST_CASES: AssetType = AssetType {
    kind: &TEST_CASE,
    create_fields: TEST_CASE_CREATE,
    // `testSuite` too: the 2.0 client names none, and the suite is then its table's basic suite.
    required: TEST_CASE_REQUIRED,
    entity_fields: TEST_CASE_FIELDS,
    optional_fields: &["owners", "testCaseResult", "testSuites", "incidentId", "tags", "domain"],
    check: Some(check_test_case),
    ..SERVICE
};

/// A definition's fields in 1.6 and those 2.0 adds (its client runs the `validatorClass`).
const TEST_DEFINITION_ALL_FIELDS: &[&str] = &[
    "id", "name", "displayName", "fullyQualifiedName", "description", "entityType", "testPlatforms", "supportedDataTypes", "parameterDefinition", "dataQualityDimension",
    "owners", "provider", "version", "updatedAt", "updatedBy", "href", "changeDescription", "incrementalChangeDescription", "deleted", "supportsRowLevelPassedFailed",
    "domain", "supportsDynamicAssertion", "enabled", "supportedServices", "sqlExpression", "validatorClass", "domains",
];

// Every field of 1.6's generated model is one of them (checked when compiling).
const _: () = assert!(contains_all(TEST_DEFINITION_ALL_FIELDS, TEST_DEFINITION_FIELDS));

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn contains_all(all: &[&str], some: &[&str]) -> bool {
    let mut i = 0;
    while i < some.len() {
        let mut j = 0;
        while j < all.len() && !same(all[j], some[i]) {
            j += 1;
        }
        if j == all.len() {
            return false;
        }
        i += 1;
    }
    true
}

/// Where a test case's results are kept (series key: the test case's FQN).
const RESULTS: &str = "testCase.testCaseResult";

/// The name of a table's basic test suite (also its FQN): OpenMetadata's `<table>.testSuite`.
pub fn basic_suite_fqn(table_fqn: &str) -> String {
    format!("{table_fqn}.testSuite")
}

const ENTITY_TYPES: &[&str] = &["TABLE", "COLUMN"];
const PLATFORMS: &[&str] = &["OpenMetadata", "GreatExpectations", "DBT", "Deequ", "Soda", "Other"];
const PARAMETER_TYPES: &[&str] = &["NUMBER", "INT", "FLOAT", "DOUBLE", "DECIMAL", "TIMESTAMP", "TIME", "DATE", "DATETIME", "ARRAY", "MAP", "SET", "STRING", "BOOLEAN"];
const DIMENSIONS: &[&str] = &["Completeness", "Accuracy", "Consistency", "Validity", "Uniqueness", "Integrity", "SQL"];
const STATUSES: &[&str] = &["Success", "Failed", "Aborted", "Queued"];
/// Fields of a result, as the 1.6 client's `TestCaseResult` and the 2.0 client's `CreateTestCaseResult` send them.
const RESULT_FIELDS: &[&str] = &[
    "id", "testCaseFQN", "fqn", "timestamp", "testCaseStatus", "result", "sampleData", "testResultValue", "passedRows", "failedRows", "passedRowsPercentage",
    "failedRowsPercentage", "incidentId", "maxBound", "minBound", "testCase", "testDefinition", "dimensionResults",
];

const NUMERIC_TYPES: &[&str] = &["NUMBER", "TINYINT", "SMALLINT", "INT", "BIGINT", "BYTEINT", "FLOAT", "DOUBLE", "DECIMAL", "NUMERIC", "LONG"];
const TEXT_TYPES: &[&str] = &["STRING", "MEDIUMTEXT", "TEXT", "CHAR", "VARCHAR", "NTEXT"];

fn check_test_definition(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    one_of("entityType", body.get("entityType").unwrap_or(&Value::Null), ENTITY_TYPES)?;
    for p in array_of("testPlatforms", body.get("testPlatforms").unwrap_or(&Value::Null))? {
        one_of("testPlatforms", p, PLATFORMS)?;
    }
    for t in body.get("supportedDataTypes").map(|v| array_of("supportedDataTypes", v)).transpose()?.into_iter().flatten() {
        one_of("supportedDataTypes", t, DATA_TYPES)?;
    }
    if let Some(d) = body.get("dataQualityDimension") {
        one_of("dataQualityDimension", d, DIMENSIONS)?;
    }
    for p in body.get("parameterDefinition").map(|v| array_of("parameterDefinition", v)).transpose()?.into_iter().flatten() {
        let p = p.as_object().ok_or_else(|| bad("parameterDefinition must hold objects"))?;
        known_fields("TestCaseParameterDefinition", p, &["name", "displayName", "dataType", "description", "required", "optionValues", "validationRule"])?;
        string_field("parameterDefinition.name", p.get("name").unwrap_or(&Value::Null))?;
        if let Some(t) = p.get("dataType") {
            one_of("parameterDefinition.dataType", t, PARAMETER_TYPES)?;
        }
    }
    Ok(())
}

fn check_test_case(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    for v in body.get("parameterValues").map(|v| array_of("parameterValues", v)).transpose()?.into_iter().flatten() {
        let v = v.as_object().ok_or_else(|| bad("parameterValues must hold {name, value} objects"))?;
        known_fields("TestCaseParameterValue", v, &["name", "value"])?;
        string_field("parameterValues.name", v.get("name").unwrap_or(&Value::Null))?;
    }
    Ok(())
}

/// What an entity link names: a table, or one of its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityLink {
    pub table_fqn: String,
    pub column: Option<String>,
}

impl EntityLink {
    /// `<#E::table::<fqn>>` or `<#E::table::<fqn>::columns::<column>>`.
    pub fn parse(link: &str) -> Result<EntityLink> {
        let invalid = || bad(format!("Invalid entityLink {}: expected <#E::table::<fqn>> or <#E::table::<fqn>::columns::<column>>", shown(link)));
        let inner = link.strip_prefix("<#E::").and_then(|l| l.strip_suffix('>')).ok_or_else(invalid)?;
        let parts: Vec<&str> = inner.split("::").collect();
        match parts.as_slice() {
            ["table", fqn] if !fqn.is_empty() => Ok(EntityLink { table_fqn: fqn.to_string(), column: None }),
            ["table", fqn, "columns", column] if !fqn.is_empty() && !column.is_empty() => Ok(EntityLink { table_fqn: fqn.to_string(), column: Some(column.to_string()) }),
            _ => Err(invalid()),
        }
    }

    /// The FQN of what it names (the column's FQN is the table's, then the quoted name).
    pub fn target_fqn(&self) -> String {
        match &self.column {
            Some(c) => format!("{}.{}", self.table_fqn, quote(c)),
            None => self.table_fqn.clone(),
        }
    }

    fn link(&self) -> String {
        match &self.column {
            Some(c) => format!("<#E::table::{}::columns::{c}>", self.table_fqn),
            None => format!("<#E::table::{}>", self.table_fqn),
        }
    }
}

/// A seeded definition as `seed/test_definitions.json` lists it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedDefinition {
    name: String,
    display_name: String,
    entity_type: String,
    description: String,
    dimension: String,
    data_types: Option<String>,
    parameters: Vec<(String, String, bool)>,
}

#[derive(serde::Deserialize)]
struct SeedFile {
    definitions: Vec<SeedDefinition>,
}

impl SeedDefinition {
    /// The definition as OpenMetadata `major` ships it: from 2.0 on it names the client's
    /// validator class (`<Name>Validator`), which the 1.6 client's model does not allow.
    fn body(self, major: u32) -> Map<String, Value> {
        let validator = format!("{}{}Validator", self.name[..1].to_uppercase(), &self.name[1..]);
        let types: Option<&[&str]> = match self.data_types.as_deref() {
            Some("numeric") => Some(NUMERIC_TYPES),
            Some("text") => Some(TEXT_TYPES),
            Some(_) => Some(DATA_TYPES),
            None => None,
        };
        let parameters: Vec<Value> = self.parameters.into_iter().map(|(name, data_type, required)| json!({"name": name, "displayName": name, "dataType": data_type, "required": required})).collect();
        let mut body = json!({
            "displayName": self.display_name,
            "description": self.description,
            "entityType": self.entity_type,
            "testPlatforms": ["OpenMetadata"],
            "parameterDefinition": parameters,
            "dataQualityDimension": self.dimension,
            "provider": "system",
            "supportsRowLevelPassedFailed": self.entity_type == "COLUMN",
        });
        if let Some(types) = types {
            body["supportedDataTypes"] = json!(types);
        }
        if major >= 2 {
            body["validatorClass"] = json!(validator);
            body["enabled"] = json!(true);
        }
        body.as_object().cloned().unwrap_or_default()
    }
}

impl Catalog {
    /// Creates or refreshes the system test definitions as OpenMetadata `om_version` (the one
    /// the server reports, e.g. `1.6.13`) has them.
    pub async fn seed_test_definitions(&self, om_version: &str) -> Result<()> {
        let major = om_version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(1);
        let seed: SeedFile = serde_json::from_str(include_str!("seed/test_definitions.json")).map_err(|e| CatalogError::Internal(format!("test definition seed: {e}")))?;
        for definition in seed.definitions {
            let name = definition.name.clone();
            let body = definition.body(major);
            let draft = || Draft { kind: &TEST_DEFINITION, name: name.clone(), fqn: quote(&name), parent_fqn: None, body: body.clone() };
            match self.create_or_update(draft(), ferrometa_store::Origin::SYSTEM).await {
                Ok(_) => {}
                // Another replica seeded it between our read and our insert.
                Err(CatalogError::AlreadyExists) => {
                    self.create_or_update(draft(), ferrometa_store::Origin::SYSTEM).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The FQN and container of a test suite or test case, which their create requests do not
    /// give as a container field: a basic suite is its table's (`basicEntityReference`, or the
    /// older `executableEntityReference`), a test case sits under what its entity link names, in
    /// its table's basic suite (`testSuite`, which only the 1.6 client sends). `None` for the
    /// other types and for logical suites (named as they are).
    pub(crate) async fn place_quality_entity(&self, kind: &str, name: &str, req: &mut Map<String, Value>) -> Result<Option<(String, Option<String>)>> {
        match kind {
            "testSuite" => self.place_basic_suite(req).await,
            "testCase" => self.place_test_case(name, req).await.map(Some),
            _ => Ok(None),
        }
    }

    async fn place_basic_suite(&self, req: &mut Map<String, Value>) -> Result<Option<(String, Option<String>)>> {
        let basic = req.remove("basicEntityReference");
        let executable = req.remove("executableEntityReference");
        let Some(named) = basic.or(executable) else {
            req.insert("basic".into(), json!(false));
            req.insert("executable".into(), json!(false));
            return Ok(None);
        };
        let table_fqn = named.as_str().ok_or_else(|| bad("basicEntityReference must be the FQN of a table"))?;
        let table = self.get_by_name(&TABLE, table_fqn, Include::NonDeleted).await?;
        let reference = self.reference(&TABLE, &table);
        let fqn = basic_suite_fqn(table["fullyQualifiedName"].as_str().unwrap_or_default());
        for (field, value) in [("basic", json!(true)), ("executable", json!(true)), ("basicEntityReference", reference.clone()), ("executableEntityReference", reference)] {
            req.insert(field.into(), value);
        }
        Ok(Some((fqn, None)))
    }

    async fn place_test_case(&self, name: &str, req: &mut Map<String, Value>) -> Result<(String, Option<String>)> {
        let link = EntityLink::parse(req.get("entityLink").and_then(Value::as_str).ok_or_else(|| bad("entityLink must be a string"))?)?;
        let table = self.get_by_name(&TABLE, &link.table_fqn, Include::NonDeleted).await?;
        let table_fqn = table["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        let link = EntityLink { table_fqn: table_fqn.clone(), column: link.column };
        if let Some(column) = &link.column
            && !table["columns"].as_array().into_iter().flatten().any(|c| c["name"].as_str() == Some(column))
        {
            return Err(bad(format!("Invalid column name {} in entityLink: table {} has no such column", shown(column), shown(&table_fqn))));
        }
        let definition_fqn = req.remove("testDefinition").and_then(|v| v.as_str().map(str::to_string)).ok_or_else(|| bad("testDefinition must be the FQN of a test definition"))?;
        let definition = self.get_by_name(&TEST_DEFINITION, &definition_fqn, Include::NonDeleted).await?;
        let wanted = if link.column.is_some() { "COLUMN" } else { "TABLE" };
        if definition["entityType"].as_str() != Some(wanted) {
            return Err(bad(format!(
                "Test definition {} tests a {}, but the entityLink names a {}",
                shown(&definition_fqn),
                definition["entityType"].as_str().unwrap_or("?").to_lowercase(),
                wanted.to_lowercase()
            )));
        }
        check_parameters(&definition, req.get("parameterValues"))?;
        let suite_fqn = basic_suite_fqn(&table_fqn);
        if let Some(named) = req.remove("testSuite") {
            let named = named.as_str().ok_or_else(|| bad("testSuite must be the FQN of a test suite"))?;
            if !named.eq_ignore_ascii_case(&suite_fqn) {
                return Err(bad(format!("A test case belongs to its table's basic test suite {}, not {}", shown(&suite_fqn), shown(named))));
            }
        }
        let suite = self.get_by_name(&TEST_SUITE, &suite_fqn, Include::NonDeleted).await.map_err(|e| match e {
            CatalogError::NotFound(_) => bad(format!("Table {} has no basic test suite: create it first (PUT /api/v1/dataQuality/testSuites/basic)", shown(&table_fqn))),
            e => e,
        })?;
        let suite_ref = self.reference(&TEST_SUITE, &suite);
        req.insert("entityLink".into(), json!(link.link()));
        req.insert("entityFQN".into(), json!(link.target_fqn()));
        req.insert("testDefinition".into(), self.reference(&TEST_DEFINITION, &definition));
        // `testSuites` lists the suites themselves (OpenMetadata's `TestSuite`, no reference type).
        let mut listed = suite_ref.clone();
        if let Some(obj) = listed.as_object_mut() {
            obj.remove("type");
            obj.insert("basic".into(), json!(true));
        }
        req.insert("testSuites".into(), json!([listed]));
        req.insert("testSuite".into(), suite_ref);
        Ok((format!("{}.{}", link.target_fqn(), quote(name)), Some(table_fqn)))
    }

    /// After a basic suite is written, its table names it (`testSuite`, no new table version).
    pub(crate) async fn link_basic_suite(&self, suite: &Value) -> Result<()> {
        let Some(table_id) = suite["basicEntityReference"]["id"].as_str().filter(|_| suite["basic"] == json!(true)) else { return Ok(()) };
        let table = self.get(&TABLE, table_id, Include::NonDeleted).await?;
        if table["testSuite"]["id"] == suite["id"] {
            return Ok(());
        }
        let mut new = table.as_object().cloned().unwrap_or_default();
        new.insert("testSuite".into(), self.reference(&TEST_SUITE, suite));
        let fqn = table["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        self.update(&TABLE, &table, new, crate::fqn::parent(&fqn), ferrometa_store::Origin::SYSTEM).await.map(|_| ())
    }

    /// A table's basic suite, created (by `actor`, who needs `Create` on test suites) when it
    /// has none: the 2.0 client creates test cases without naming a suite.
    pub(crate) async fn ensure_basic_suite(&self, actor: Actor<'_>, request: &mut Value) -> Result<()> {
        if request.get("testSuite").is_some_and(|v| !v.is_null()) {
            return Ok(());
        }
        let Some(link) = request.get("entityLink").and_then(Value::as_str) else { return Ok(()) };
        let table = self.get_by_name(&TABLE, &EntityLink::parse(link)?.table_fqn, Include::NonDeleted).await?;
        let table_fqn = table["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        let suite_fqn = basic_suite_fqn(&table_fqn);
        if self.store().entity_by_fqn(TEST_SUITE.name, &suite_fqn).await?.is_none_or(|row| row.deleted) {
            Box::pin(self.put_asset(actor, &TEST_SUITES, json!({"name": suite_fqn, "basicEntityReference": table_fqn}))).await?;
        }
        request["testSuite"] = json!(suite_fqn);
        Ok(())
    }

    /// A live test case the caller may do `operation` on.
    async fn test_case_for(&self, actor: Actor<'_>, key: Key<'_>, operation: Operation) -> Result<Value> {
        let test_case = match key {
            Key::Id(id) => self.get(&TEST_CASE, id, Include::NonDeleted).await?,
            Key::Fqn(fqn) => self.get_by_name(&TEST_CASE, fqn, Include::NonDeleted).await?,
        };
        self.authorize(actor, &[operation], &Target::entity(TEST_CASE.name, self.facts(&TEST_CASE, &test_case))).await?;
        Ok(test_case)
    }

    /// Records one run of a test case (`PUT /testCases/{fqn}/testCaseResult` of the 1.6 client,
    /// `POST /testCases/testCaseResults/{fqn}` of the 2.0 client): kept in its series, and the
    /// newest run is the test case's `testCaseResult` (no new version). Answers the result.
    pub async fn put_test_case_result(&self, actor: Actor<'_>, test_case_fqn: &str, mut result: Map<String, Value>) -> Result<Value> {
        let test_case = self.test_case_for(actor, Key::Fqn(test_case_fqn), Operation::EditTests).await?;
        result.retain(|_, v| !v.is_null());
        known_fields("TestCaseResult", &result, RESULT_FIELDS)?;
        let ts = result.get("timestamp").and_then(Value::as_i64).ok_or_else(|| bad("timestamp is required (epoch milliseconds)"))?;
        one_of("testCaseStatus", result.get("testCaseStatus").unwrap_or(&Value::Null), STATUSES)?;
        if let Some(values) = result.get("testResultValue") {
            array_of("testResultValue", values)?;
        }
        let fqn = test_case["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        result.remove("fqn");
        result.remove("testCase");
        result.remove("testDefinition");
        result.insert("testCaseFQN".into(), json!(fqn));
        let entry = SeriesEntry { fqn: fqn.clone(), extension: RESULTS, ts, part: String::new(), json: serde_json::to_string(&result)? };
        self.store().put_series(&[entry], self.profiles_kept_after()).await?;
        if test_case["testCaseResult"]["timestamp"].as_i64().is_none_or(|latest| latest <= ts) {
            let mut new = test_case.as_object().cloned().unwrap_or_default();
            new.insert("testCaseResult".into(), Value::Object(result.clone()));
            new.insert("testCaseStatus".into(), result["testCaseStatus"].clone());
            let table_fqn = EntityLink::parse(test_case["entityLink"].as_str().unwrap_or_default())?.table_fqn;
            self.update(&TEST_CASE, &test_case, new, Some(table_fqn), actor.origin()).await?;
        }
        Ok(Value::Object(result))
    }

    /// A test case's results in a time range, newest first, as `{"data", "paging"}`.
    pub async fn test_case_results(&self, actor: Actor<'_>, test_case_fqn: &str, range: TimeRange) -> Result<Value> {
        let test_case = self.test_case_for(actor, Key::Fqn(test_case_fqn), Operation::ViewTests).await?;
        let fqn = test_case["fullyQualifiedName"].as_str().unwrap_or_default();
        let data = self.store().series(fqn, RESULTS, range.start, range.end).await?.iter().map(|j| parse_result(j)).collect::<Result<Vec<_>>>()?;
        Ok(json!({"paging": {"total": data.len()}, "data": data}))
    }

    /// The FQN of the table whose test cases a suite holds (`GET /testCases?testSuiteId=`): a
    /// basic suite's table. Logical suites are not served yet.
    pub async fn suite_table_fqn(&self, suite_id: &str) -> Result<String> {
        let suite = self.get(&TEST_SUITE, suite_id, Include::All).await?;
        match suite["basicEntityReference"]["fullyQualifiedName"].as_str() {
            Some(fqn) => Ok(fqn.to_string()),
            None => Err(bad("listing the test cases of a logical test suite is not supported yet")),
        }
    }

    /// The test cases of a table with their results in a time range, for the table's page:
    /// needs `ViewTests` on the table.
    pub async fn table_quality(&self, actor: Actor<'_>, table_fqn: &str, range: TimeRange) -> Result<Vec<(Value, Vec<Value>)>> {
        let table = self.table_for(actor, Key::Fqn(table_fqn), Operation::ViewTests).await?;
        let fqn = table["fullyQualifiedName"].as_str().unwrap_or_default();
        let page = self.store().list_entities_under(TEST_CASE.name, fqn, Include::NonDeleted, 1000, None, None).await?;
        let mut out = vec![];
        for test_case in self.loaded_all(&TEST_CASE, &page.rows).await? {
            let case_fqn = test_case["fullyQualifiedName"].as_str().unwrap_or_default();
            let results = self.store().series(case_fqn, RESULTS, range.start, range.end).await?.iter().map(|j| parse_result(j)).collect::<Result<Vec<_>>>()?;
            out.push((test_case, results));
        }
        Ok(out)
    }
}

fn parse_result(json: &str) -> Result<Value> {
    serde_json::from_str(json).map_err(|e| CatalogError::Internal(format!("stored test case result: {e}")))
}

/// Every required parameter of the definition is given, and only its parameters.
fn check_parameters(definition: &Value, given: Option<&Value>) -> Result<()> {
    let empty = vec![];
    let given = match given {
        Some(v) => array_of("parameterValues", v)?,
        None => &empty,
    };
    let defined = definition["parameterDefinition"].as_array().unwrap_or(&empty);
    let name_of = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
    for value in given {
        let name = name_of(value);
        if !defined.iter().any(|d| name_of(d) == name) {
            return Err(bad(format!("Parameter {} is not a parameter of test definition {}", shown(&name), shown(definition["name"].as_str().unwrap_or_default()))));
        }
    }
    for d in defined.iter().filter(|d| d["required"] == json!(true)) {
        if !given.iter().any(|v| name_of(v) == name_of(d)) {
            return Err(bad(format!("Required parameter {} is not passed in parameterValues", name_of(d))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_links_name_a_table_or_one_of_its_columns() {
        let t = EntityLink::parse("<#E::table::svc.db.sch.orders>").unwrap();
        assert_eq!(t, EntityLink { table_fqn: "svc.db.sch.orders".into(), column: None });
        assert_eq!(t.target_fqn(), "svc.db.sch.orders");
        let c = EntityLink::parse("<#E::table::svc.db.sch.orders::columns::a.b>").unwrap();
        assert_eq!(c.target_fqn(), "svc.db.sch.orders.\"a.b\"");
        assert_eq!(c.link(), "<#E::table::svc.db.sch.orders::columns::a.b>");
        for bad_link in ["svc.db.sch.orders", "<#E::table::>", "<#E::topic::svc.t>", "<#E::table::t::columns>", "<#E::table::t::tags::x>", "<#E::table::t"] {
            assert!(matches!(EntityLink::parse(bad_link), Err(CatalogError::BadRequest(_))), "{bad_link}");
        }
    }

    #[test]
    fn required_parameters_are_given_and_no_others() {
        let definition = json!({"name": "tableRowCountToEqual", "parameterDefinition": [{"name": "value", "required": true}, {"name": "note", "required": false}]});
        assert!(check_parameters(&definition, Some(&json!([{"name": "value", "value": "3"}]))).is_ok());
        let missing = check_parameters(&definition, None).unwrap_err();
        assert!(missing.to_string().contains("Required parameter value"), "{missing}");
        let unknown = check_parameters(&definition, Some(&json!([{"name": "value", "value": "3"}, {"name": "surprise", "value": "1"}]))).unwrap_err();
        assert!(unknown.to_string().contains("surprise"), "{unknown}");
    }

    #[test]
    fn the_seed_holds_a_definition_per_validator_of_the_client() {
        let seed: SeedFile = serde_json::from_str(include_str!("seed/test_definitions.json")).unwrap();
        let names: Vec<String> = seed.definitions.iter().map(|d| d.name.clone()).collect();
        for name in ["tableRowCountToBeBetween", "columnValuesToBeUnique", "columnValuesToBeNotNull", "tableCustomSQLQuery"] {
            assert!(names.contains(&name.to_string()), "{name}");
        }
        for d in seed.definitions {
            let mut body = d.body(1);
            check_test_definition("x", &mut body).unwrap();
            assert!(!body.contains_key("validatorClass"), "not in 1.6's model");
        }
        let unique = serde_json::from_str::<SeedFile>(include_str!("seed/test_definitions.json")).unwrap().definitions.remove(21);
        assert_eq!((unique.name.clone(), unique.body(2)["validatorClass"].clone()), ("columnValuesToBeUnique".to_string(), json!("ColumnValuesToBeUniqueValidator")));
    }
}

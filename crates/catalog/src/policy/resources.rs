//! OpenMetadata's `ResourceRegistry`: every resource a rule can name and the operations each
//! supports (`GET /api/v1/policies/resources`, the permissions API). Each resource has the
//! common operations, those its fields bring (tags → EditTags, owners → EditOwners, ...) and its
//! own; the synthetic resource `all` lists all 43 operations.

use super::operation::Operation::{self, *};

/// Fields of a resource that bring operations.
#[derive(Clone, Copy)]
struct Has {
    tags: bool,
    owners: bool,
    extension: bool,
    roles: bool,
    reviewers: bool,
}

const ASSET: Has = Has { tags: true, owners: true, extension: true, roles: false, reviewers: false };
const GOVERNED: Has = Has { tags: true, owners: true, extension: true, roles: false, reviewers: true };
const PLAIN: Has = Has { tags: false, owners: true, extension: false, roles: false, reviewers: false };
const PEOPLE: Has = Has { tags: false, owners: true, extension: true, roles: true, reviewers: false };

struct Descriptor {
    name: &'static str,
    has: Has,
    own: &'static [Operation],
}

const TABLE_OPERATIONS: &[Operation] =
    &[ViewTests, ViewQueries, ViewDataProfile, ViewSampleData, ViewUsage, ViewProfilerGlobalConfiguration, EditTests, EditQueries, EditDataProfile, EditSampleData, EditLineage, EditEntityRelationship];

const DESCRIPTORS: &[Descriptor] = &[
    Descriptor { name: "table", has: ASSET, own: TABLE_OPERATIONS },
    Descriptor { name: "database", has: ASSET, own: &[ViewUsage, EditUsage] },
    Descriptor { name: "databaseSchema", has: ASSET, own: &[ViewUsage, EditUsage] },
    Descriptor { name: "storedProcedure", has: ASSET, own: &[EditLineage] },
    Descriptor { name: "dashboard", has: ASSET, own: &[ViewUsage, EditUsage, EditLineage] },
    Descriptor { name: "chart", has: ASSET, own: &[ViewUsage, EditUsage, EditLineage] },
    Descriptor { name: "dashboardDataModel", has: ASSET, own: &[EditLineage] },
    Descriptor { name: "pipeline", has: ASSET, own: &[EditLineage, EditStatus] },
    Descriptor { name: "topic", has: ASSET, own: &[ViewSampleData, EditSampleData, EditLineage] },
    Descriptor { name: "mlmodel", has: ASSET, own: &[EditLineage] },
    Descriptor { name: "container", has: ASSET, own: &[ViewSampleData, EditSampleData, EditLineage] },
    Descriptor { name: "searchIndex", has: ASSET, own: &[ViewSampleData, EditSampleData, EditLineage] },
    Descriptor { name: "apiCollection", has: ASSET, own: &[] },
    Descriptor { name: "apiEndpoint", has: ASSET, own: &[EditLineage] },
    Descriptor { name: "query", has: ASSET, own: &[ViewQueries, EditQueries] },
    Descriptor { name: "glossary", has: GOVERNED, own: &[] },
    Descriptor { name: "glossaryTerm", has: GOVERNED, own: &[] },
    Descriptor { name: "classification", has: PLAIN, own: &[] },
    Descriptor { name: "tag", has: PLAIN, own: &[] },
    Descriptor { name: "domain", has: Has { tags: false, owners: true, extension: true, roles: false, reviewers: false }, own: &[] },
    Descriptor { name: "dataProduct", has: ASSET, own: &[] },
    Descriptor { name: "team", has: PEOPLE, own: &[EditUsers, EditPolicy, EditTeams] },
    Descriptor { name: "user", has: PEOPLE, own: &[EditTeams] },
    Descriptor { name: "role", has: PLAIN, own: &[EditPolicy] },
    Descriptor { name: "policy", has: PLAIN, own: &[] },
    Descriptor { name: "bot", has: PLAIN, own: &[] },
    Descriptor { name: "persona", has: PLAIN, own: &[EditUsers] },
    Descriptor { name: "testSuite", has: ASSET, own: &[ViewTests, EditTests] },
    Descriptor { name: "testCase", has: ASSET, own: &[ViewTests, EditTests, ViewTestCaseFailedRowsSample, DeleteTestCaseFailedRowsSample] },
    Descriptor { name: "testDefinition", has: PLAIN, own: &[] },
    Descriptor { name: "ingestionPipeline", has: PLAIN, own: &[Deploy, Trigger, Kill, EditIngestionPipelineStatus, CreateIngestionPipelineAutomator] },
    Descriptor { name: "app", has: PLAIN, own: &[Trigger, Deploy] },
    Descriptor { name: "databaseService", has: ASSET, own: &[] },
    Descriptor { name: "dashboardService", has: ASSET, own: &[] },
    Descriptor { name: "pipelineService", has: ASSET, own: &[] },
    Descriptor { name: "messagingService", has: ASSET, own: &[] },
    Descriptor { name: "mlmodelService", has: ASSET, own: &[] },
    Descriptor { name: "storageService", has: ASSET, own: &[] },
    Descriptor { name: "searchService", has: ASSET, own: &[] },
    Descriptor { name: "metadataService", has: ASSET, own: &[] },
    Descriptor { name: "apiService", has: ASSET, own: &[] },
];

/// The synthetic resource that stands for every resource.
pub const ALL_RESOURCES: &str = "all";

const COMMON: &[Operation] = &[Create, Delete, ViewAll, ViewBasic, EditAll, EditDescription, EditDisplayName, EditGlossaryTerms, EditTier];

/// A resource and the operations it supports, in OpenMetadata's order.
pub struct Resource {
    pub name: &'static str,
    pub operations: Vec<Operation>,
}

fn describe(d: &Descriptor) -> Resource {
    let mut ops: Vec<Operation> = COMMON.to_vec();
    let fields = [(d.has.tags, EditTags), (d.has.owners, EditOwners), (d.has.extension, EditCustomFields), (d.has.roles, EditRole), (d.has.reviewers, EditReviewers)];
    ops.extend(fields.iter().filter(|(has, _)| *has).map(|(_, op)| *op));
    ops.extend(d.own);
    ops.sort();
    ops.dedup();
    Resource { name: d.name, operations: ops }
}

/// Every resource, `all` first.
pub fn resources() -> Vec<Resource> {
    let mut all = vec![Resource { name: ALL_RESOURCES, operations: Operation::ALL.to_vec() }];
    all.extend(DESCRIPTORS.iter().map(describe));
    all
}

/// A resource by name, case-insensitive (`Table` finds `table`).
pub fn resource(name: &str) -> Option<Resource> {
    resources().into_iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_openmetadatas_24_operations_and_all_has_43() {
        let table = resource("Table").unwrap();
        let names: Vec<&str> = table.operations.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, [
            "Create", "Delete", "ViewAll", "ViewBasic", "ViewUsage", "ViewTests", "ViewQueries", "ViewDataProfile", "ViewProfilerGlobalConfiguration", "ViewSampleData", "EditAll",
            "EditCustomFields", "EditDataProfile", "EditDescription", "EditDisplayName", "EditLineage", "EditEntityRelationship", "EditOwners", "EditQueries", "EditSampleData",
            "EditTags", "EditGlossaryTerms", "EditTier", "EditTests",
        ]);
        assert_eq!(resource("all").unwrap().operations.len(), 43);
        assert_eq!(resources()[0].name, "all");
        assert!(resource("user").unwrap().operations.contains(&EditRole));
        assert!(resource("unicorn").is_none());
    }
}

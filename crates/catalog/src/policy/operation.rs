//! OpenMetadata 1.6's `MetadataOperation`: the 43 operations a rule can name, in declaration
//! order (OpenMetadata sorts rule operations and permission answers in this order).

use std::fmt;

macro_rules! operations {
    ($($variant:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Operation {
            $($variant),*
        }

        impl Operation {
            /// Every operation, in OpenMetadata's order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$variant => stringify!($variant)),*
                }
            }
        }
    };
}

operations!(
    All,
    Create,
    CreateIngestionPipelineAutomator,
    Delete,
    ViewAll,
    ViewBasic,
    ViewUsage,
    ViewTests,
    ViewQueries,
    ViewDataProfile,
    ViewProfilerGlobalConfiguration,
    ViewSampleData,
    ViewTestCaseFailedRowsSample,
    EditAll,
    EditCustomFields,
    EditDataProfile,
    EditDescription,
    EditDisplayName,
    EditLineage,
    EditEntityRelationship,
    EditPolicy,
    EditOwners,
    EditQueries,
    EditReviewers,
    EditRole,
    EditSampleData,
    EditStatus,
    EditTags,
    EditGlossaryTerms,
    EditTeams,
    EditTier,
    EditTests,
    EditUsage,
    EditUsers,
    EditLifeCycle,
    EditKnowledgePanel,
    EditPage,
    EditIngestionPipelineStatus,
    DeleteTestCaseFailedRowsSample,
    Deploy,
    Trigger,
    Kill,
    GenerateToken,
);

impl Operation {
    pub fn parse(name: &str) -> Option<Operation> {
        Self::ALL.iter().copied().find(|op| op.as_str() == name)
    }

    pub fn is_view(self) -> bool {
        self.as_str().starts_with("View")
    }

    pub fn is_edit(self) -> bool {
        self.as_str().starts_with("Edit")
    }

    /// Whether a rule naming `self` covers `requested`: `All` covers everything, `ViewAll` every
    /// `View*`, `EditAll` every `Edit*` (so only `All` covers Create, Delete, Deploy, ...).
    pub fn covers(self, requested: Operation) -> bool {
        match self {
            Operation::All => true,
            Operation::ViewAll => requested.is_view(),
            Operation::EditAll => requested.is_edit(),
            own => own == requested,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Operations as OpenMetadata prints a Java list: `[EditTags, EditTier]`.
pub fn java_list(ops: &[Operation]) -> String {
    format!("[{}]", ops.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_43_operations_in_openmetadatas_order() {
        assert_eq!(Operation::ALL.len(), 43);
        assert_eq!(Operation::ALL.first(), Some(&Operation::All));
        assert_eq!(Operation::ALL.last(), Some(&Operation::GenerateToken));
        assert!(Operation::EditAll < Operation::EditDescription && Operation::Delete < Operation::ViewAll);
        assert_eq!(Operation::parse("EditTier"), Some(Operation::EditTier));
        assert_eq!(Operation::parse("EditCertification"), None, "1.7 only");
        assert_eq!(Operation::parse("editTier"), None, "names are case-sensitive");
    }

    #[test]
    fn all_view_all_and_edit_all_cover_their_families_only() {
        use Operation::*;
        assert!(All.covers(Create) && All.covers(GenerateToken));
        assert!(ViewAll.covers(ViewBasic) && ViewAll.covers(ViewSampleData) && !ViewAll.covers(EditDescription));
        assert!(EditAll.covers(EditTags) && !EditAll.covers(Create) && !EditAll.covers(Delete) && !EditAll.covers(ViewBasic));
        assert!(ViewBasic.covers(ViewBasic) && !ViewBasic.covers(ViewUsage));
        assert_eq!(java_list(&[EditTags, EditTier]), "[EditTags, EditTier]");
    }
}

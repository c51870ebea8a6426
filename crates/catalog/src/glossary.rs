//! Glossaries and their terms, one declaration each: a term lives in its glossary, under a
//! parent term or at the top (`parent`, else `glossary`, as a tag under its classification), its
//! FQN the glossary's then the terms' names; related terms are other terms by FQN; reviewers are
//! users or teams. A term is a tag label of source `Glossary` on any asset (`crate::data`'s
//! `label_tags` finds it by FQN).

use serde_json::{Map, Value};

use crate::data::{AssetType, Reference, SERVICE, array_of, one_of, string_field};
use crate::error::Result;
use crate::kinds::{GLOSSARY, GLOSSARY_TERM};
use crate::schema::*;

pub static GLOSSARIES: AssetType = AssetType {
    kind: &GLOSSARY,
    create_fields: GLOSSARY_CREATE,
    required: GLOSSARY_REQUIRED,
    entity_fields: GLOSSARY_FIELDS,
    optional_fields: &["owners", "tags", "reviewers", "usageCount", "termCount", "domain", "dataProducts", "votes", "extension"],
    search_index: Some("glossary_search_index"),
    ..SERVICE
};

pub static GLOSSARY_TERMS: AssetType = AssetType {
    kind: &GLOSSARY_TERM,
    create_fields: GLOSSARY_TERM_CREATE,
    required: GLOSSARY_TERM_REQUIRED,
    entity_fields: GLOSSARY_TERM_FIELDS,
    containers: &[("parent", &GLOSSARY_TERM), ("glossary", &GLOSSARY)],
    inherited: &["glossary"],
    references: &[Reference { field: "relatedTerms", kind: &GLOSSARY_TERM, by_name: true }],
    optional_fields: &["owners", "tags", "reviewers", "relatedTerms", "children", "usageCount", "domain", "dataProducts", "votes", "extension", "childrenCount"],
    check: Some(check_term),
    filters: &[("parent", &GLOSSARY_TERM), ("glossary", &GLOSSARY)],
    search_index: Some("glossary_term_search_index"),
    ..SERVICE
};

const TERM_STATUSES: &[&str] = &["Draft", "Approved", "Deprecated", "Rejected"];

/// Synonyms are names; references are `{name, endpoint}` links; a term's status, when given, is
/// one of OpenMetadata 1.6's (none by default: the 2.0 model calls it `entityStatus`).
fn check_term(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    for s in body.get("synonyms").map(|v| array_of("synonyms", v)).transpose()?.into_iter().flatten() {
        string_field("synonyms", s)?;
    }
    for r in body.get("references").map(|v| array_of("references", v)).transpose()?.into_iter().flatten() {
        let r = r.as_object().ok_or_else(|| crate::data::bad("references must hold {name, endpoint} objects"))?;
        crate::data::known_fields("TermReference", r, &["name", "endpoint"])?;
    }
    match body.get("status") {
        Some(status) => one_of("status", status, TERM_STATUSES),
        None => Ok(()),
    }
}

//! Fully qualified names as OpenMetadata builds them: parts joined by `.`, a part that contains
//! a `.` wrapped in double quotes. `EntityName` cannot hold an empty or over-long name.

use crate::error::CatalogError;

/// A validated entity name (1 to 256 characters, no control characters, no `"` or `::`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityName(String);

impl EntityName {
    pub fn parse(raw: &str) -> Result<EntityName, CatalogError> {
        let n = raw.chars().count();
        if n == 0 || n > 256 {
            return Err(CatalogError::BadRequest("name size must be between 1 and 256".into()));
        }
        if raw.chars().any(char::is_control) || raw.contains('"') || raw.contains("::") {
            return Err(CatalogError::BadRequest(format!("name must match \"^((?!::).)*$\" and contain no quotes or control characters: {}", shown(raw))));
        }
        Ok(EntityName(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn shown(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// Quotes one FQN part when it contains a dot.
pub fn quote(part: &str) -> String {
    if part.contains('.') { format!("\"{part}\"") } else { part.to_string() }
}

/// Joins parts into an FQN.
pub fn build(parts: &[&str]) -> String {
    parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".")
}

/// Splits an FQN into its unquoted parts.
pub fn split(fqn: &str) -> Vec<String> {
    let mut parts = vec![];
    let mut current = String::new();
    let mut quoted = false;
    for c in fqn.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// FQN of the parent: everything but the last part.
pub fn parent(fqn: &str) -> Option<String> {
    let parts = split(fqn);
    (parts.len() > 1).then(|| build(&parts[..parts.len() - 1].iter().map(String::as_str).collect::<Vec<_>>()))
}

/// FQNs of the containers of an entity, outermost first (none for a top-level name).
pub fn ancestors(fqn: &str) -> Vec<String> {
    let parts = split(fqn);
    (1..parts.len()).map(|n| build(&parts[..n].iter().map(String::as_str).collect::<Vec<_>>())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_the_containers_outermost_first() {
        assert_eq!(ancestors("svc.db.\"s.x\".t"), ["svc", "svc.db", "svc.db.\"s.x\""]);
        assert!(ancestors("svc").is_empty());
    }

    #[test]
    fn parts_with_dots_are_quoted_and_split_back() {
        let fqn = build(&["local_sqlite", "main", "sales.v2", "orders"]);
        assert_eq!(fqn, "local_sqlite.main.\"sales.v2\".orders");
        assert_eq!(split(&fqn), ["local_sqlite", "main", "sales.v2", "orders"]);
        assert_eq!(parent(&fqn).as_deref(), Some("local_sqlite.main.\"sales.v2\""));
        assert_eq!(parent("service"), None);
    }

    #[test]
    fn names_are_validated() {
        assert!(EntityName::parse("orders").is_ok());
        assert!(EntityName::parse("with.dot").is_ok());
        assert!(EntityName::parse("").is_err());
        assert!(EntityName::parse(&"x".repeat(257)).is_err());
        assert!(EntityName::parse("a::b").is_err());
        assert!(EntityName::parse("bad\"quote").is_err());
        assert!(EntityName::parse("ctl\u{7}").is_err());
    }
}

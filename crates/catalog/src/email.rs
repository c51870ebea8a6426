//! An email address that cannot hold bad data: one `@`, non-empty local part and domain with a
//! dot-free-or-dotted host, no whitespace, at most 254 characters, stored lower-cased.

use crate::error::CatalogError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, CatalogError> {
        let v = raw.trim().to_lowercase();
        let bad = || CatalogError::BadRequest(format!("email must be a well-formed email address: {}", raw.chars().filter(|c| !c.is_control()).take(80).collect::<String>()));
        let (local, domain) = v.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && v.len() <= 254
            && !v.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok { Ok(Email(v)) } else { Err(bad()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_validated_and_lower_cased() {
        let e = Email::parse(" Alice@Example.COM ").unwrap();
        assert_eq!((e.as_str(), e.local_part(), e.domain()), ("alice@example.com", "alice", "example.com"));
        for bad in ["", "alice", "@x.org", "a@", "a@b@c", "a b@c.org", "a@.org", "a@org."] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}

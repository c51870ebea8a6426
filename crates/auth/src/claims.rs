//! JWT segments parsed strictly: compact serialization only, no duplicate JSON members, claim
//! names looked up case-insensitively (as OpenMetadata does), numeric dates checked for type.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A JSON object that refuses duplicate member names (RFC 8725 §2.6 parser differentials).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Claims;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if out.insert(k.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format!("duplicate member {k}")));
                    }
                }
                Ok(Claims(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A time claim that is present but not a finite number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotANumericDate;

/// Most claims a token may carry, and its largest size.
pub const MAX_CLAIMS: usize = 64;
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

impl Claims {
    pub fn parse_segment(segment: &str) -> Option<Claims> {
        let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
        let claims: Claims = serde_json::from_slice(&bytes).ok()?;
        (claims.0.len() <= MAX_CLAIMS && claims.0.values().all(|v| depth(v) <= 4)).then_some(claims)
    }

    /// Exact name first, then a case-insensitive match.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).or_else(|| self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A claim that OpenMetadata reads "as string": text, or a number/bool printed.
    pub fn as_text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A boolean that may arrive as `true` or `"true"` (moto emits strings).
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// A NumericDate: `Ok(None)` when absent, `Err` when present but not a finite number
    /// (CVE-2026-25537 class: a string `exp` must not be treated as "no exp").
    pub fn numeric_date(&self, name: &str) -> Result<Option<i64>, NotANumericDate> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)).map(Some).ok_or(NotANumericDate),
            Some(_) => Err(NotANumericDate),
        }
    }

    pub fn string_list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => vec![],
        }
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn duplicate_members_are_refused() {
        assert!(Claims::parse_segment(&seg(r#"{"sub":"a","sub":"b"}"#)).is_none());
        assert!(Claims::parse_segment(&seg(r#"{"sub":"a"}"#)).is_some());
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        let c = Claims::parse_segment(&seg(r#"{"a":5,"b":"never","c":null,"d":1.5e3}"#)).unwrap();
        assert_eq!(c.numeric_date("a"), Ok(Some(5)));
        assert_eq!(c.numeric_date("b"), Err(NotANumericDate));
        assert_eq!(c.numeric_date("c"), Err(NotANumericDate));
        assert_eq!(c.numeric_date("d"), Ok(Some(1500)));
        assert_eq!(c.numeric_date("missing"), Ok(None));
        assert!(Claims::parse_segment(&seg(r#"{"exp":1e309}"#)).is_none(), "out-of-range numbers do not parse");
    }

    #[test]
    fn lookups_are_case_insensitive_and_flags_accept_strings() {
        let c = Claims::parse_segment(&seg(r#"{"Email":"a@b","email_verified":"false","isBot":true}"#)).unwrap();
        assert_eq!(c.str("email"), Some("a@b"));
        assert_eq!(c.flag("email_verified"), Some(false));
        assert_eq!(c.flag("isbot"), Some(true));
    }

    #[test]
    fn too_many_or_too_deep_claims_are_refused() {
        let many: String = (0..70).map(|i| format!("\"c{i}\":1")).collect::<Vec<_>>().join(",");
        assert!(Claims::parse_segment(&seg(&format!("{{{many}}}"))).is_none());
        assert!(Claims::parse_segment(&seg(r#"{"a":[[[[[1]]]]]}"#)).is_none());
    }
}

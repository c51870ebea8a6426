//! Loading: defaults, then the YAML file (after `${VAR:-default}` substitution), then environment
//! variables (env wins, as documented), then typed validation that reports every problem at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::keys::{self, KEYS, Key, Kind};

/// Where an effective value came from; printed in the startup dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
        })
    }
}

/// One problem with the configuration, naming the key and its env var.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", keys::label(&self.key), self.message)
    }
}

/// All problems found, so that an operator fixes them in one round.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// The effective raw values of every key, with their sources.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub(crate) values: BTreeMap<&'static str, (Value, Source)>,
    pub(crate) problems: Vec<Problem>,
    /// Extra values read from the file that are not keys of ours (e.g. `database.user`).
    pub(crate) file_tree: Value,
}

/// Replaces `${VAR}` and `${VAR:-default}` the way Dropwizard's non-strict substitutor does:
/// a set, non-empty variable wins; otherwise the default; an unset variable without a default is
/// left as written.
pub fn substitute(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn lookup<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(tree, |node, part| node.get(part))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// `[a, "b", c]` or a single item; items are trimmed and unquoted.
fn parse_flow_list(s: &str) -> Vec<String> {
    let t = s.trim();
    let inner = match t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        Some(inner) => inner,
        None if t.is_empty() => return vec![],
        None => return vec![unquote(t).to_string()],
    };
    inner
        .split(',')
        .map(|item| unquote(item).to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Brings a YAML value (from the file, the defaults or an env var) to the key's kind.
fn coerce(key: &Key, v: &Value) -> Result<Value, String> {
    match key.kind {
        Kind::Str | Kind::Secret => scalar_to_string(v)
            .map(Value::String)
            .ok_or_else(|| "expected a text value, got a list or a map".into()),
        Kind::Bool => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            other => Err(format!("expected true or false, got {}", show(other))),
        },
        Kind::Int => match v {
            Value::Number(n) if n.is_u64() => Ok(v.clone()),
            Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(Value::from(s.trim().parse::<u64>().unwrap_or(0))),
            other => Err(format!("expected a whole number, got {}", show(other))),
        },
        Kind::List => match v {
            Value::Array(items) => items
                .iter()
                .map(|i| scalar_to_string(i).ok_or_else(|| "list items must be text".to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::from),
            Value::String(s) => Ok(Value::from(parse_flow_list(s))),
            Value::Null => Ok(Value::Array(vec![])),
            other => Err(format!("expected a list such as [a, b], got {}", show(other))),
        },
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// Reads an env value as YAML would read `${VAR}` in place of the value: quotes removed, flow
/// lists split, everything else kept as text for `coerce`.
fn env_value(key: &Key, raw: &str) -> Value {
    match key.kind {
        Kind::List => Value::from(parse_flow_list(raw)),
        _ => Value::String(unquote(raw).to_string()),
    }
}

impl RawConfig {
    fn set(&mut self, key: &'static Key, v: &Value, source: Source) {
        match coerce(key, v) {
            Ok(v) => {
                self.values.insert(key.path, (v, source));
            }
            Err(message) => self.problems.push(Problem { key: key.path.into(), message }),
        }
    }

    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut raw = RawConfig { file_tree: Value::Null, ..Default::default() };
        for key in KEYS {
            let default: Value = yaml_serde::from_str(key.default).unwrap_or(Value::Null);
            raw.set(key, &default, Source::Default);
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                problems: vec![Problem { key: "--config".into(), message: format!("cannot read {}: {e}", path.display()) }],
            })?;
            raw.apply_file(&substitute(&text, env))?;
        }
        for key in KEYS {
            if let Some(name) = key.env
                && let Some(v) = env(name).filter(|v| !v.trim().is_empty())
            {
                raw.set(key, &env_value(key, &v), Source::Env);
            }
        }
        Ok(raw)
    }

    fn apply_file(&mut self, text: &str) -> Result<(), ConfigError> {
        let tree: Value = yaml_serde::from_str(text).map_err(|e| ConfigError {
            problems: vec![Problem { key: "--config".into(), message: format!("not valid YAML: {e}") }],
        })?;
        for key in KEYS {
            if let Some(v) = lookup(&tree, key.path) {
                self.set(key, v, Source::File);
            }
        }
        self.file_tree = tree;
        Ok(())
    }

    pub fn value(&self, path: &str) -> &Value {
        self.values.get(path).map(|(v, _)| v).unwrap_or(&Value::Null)
    }

    pub fn source(&self, path: &str) -> Source {
        self.values.get(path).map(|(_, s)| *s).unwrap_or(Source::Default)
    }

    pub fn str(&self, path: &str) -> &str {
        self.value(path).as_str().unwrap_or("")
    }

    pub fn bool(&self, path: &str) -> bool {
        self.value(path).as_bool().unwrap_or(false)
    }

    pub fn int(&self, path: &str) -> u64 {
        self.value(path).as_u64().unwrap_or(0)
    }

    pub fn list(&self, path: &str) -> Vec<String> {
        self.value(path)
            .as_array()
            .map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// A value from the file that is not one of our keys (OpenMetadata's `database.user`, ...).
    pub fn file_str(&self, path: &str) -> Option<String> {
        lookup(&self.file_tree, path).and_then(scalar_to_string).filter(|s| !s.is_empty())
    }

    /// Effective configuration, one line per key, secrets as `***`.
    pub fn redacted_dump(&self) -> String {
        let mut out = String::new();
        for key in KEYS {
            let v = self.value(key.path);
            let shown = match (key.kind, v) {
                (Kind::Secret, Value::String(s)) if s.is_empty() => "\"\"".to_string(),
                (Kind::Secret, _) => "***".to_string(),
                (_, v) => redact_passwords(key, v),
            };
            out.push_str(&format!("{} = {} ({})\n", key.path, shown, self.source(key.path)));
        }
        out
    }
}

/// `adminPrincipals` entries may carry `name:password`; only the name is shown.
fn redact_passwords(key: &Key, v: &Value) -> String {
    if key.path == "authorizerConfiguration.adminPrincipals"
        && let Value::Array(items) = v
    {
        let names: Vec<String> = items
            .iter()
            .filter_map(|i| i.as_str())
            .map(|s| match s.split_once(':') {
                Some((name, _)) => format!("{name}:***"),
                None => s.to_string(),
            })
            .collect();
        return format!("{names:?}");
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn substitution_follows_dropwizard_non_strict_rules() {
        let env = env_of(&[("SET", "value"), ("EMPTY", "")]);
        assert_eq!(substitute("a: ${SET:-d}", &env), "a: value");
        assert_eq!(substitute("a: ${UNSET:-d}", &env), "a: d");
        assert_eq!(substitute("a: ${EMPTY:-d}", &env), "a: d");
        assert_eq!(substitute("a: ${UNSET}", &env), "a: ${UNSET}");
        assert_eq!(substitute("a: ${SET}/${UNSET:-x}/z", &env), "a: value/x/z");
        assert_eq!(substitute("url: ${U:-http://h:1/p}", &env), "url: http://h:1/p");
        assert_eq!(substitute("open ${", &env), "open ${");
    }

    #[test]
    fn flow_lists_are_split_trimmed_and_unquoted() {
        assert_eq!(parse_flow_list("[https://a/jwks.json, http://b/jwks]"), vec!["https://a/jwks.json", "http://b/jwks"]);
        assert_eq!(parse_flow_list(r#"["a","b"]"#), vec!["a", "b"]);
        assert_eq!(parse_flow_list("single"), vec!["single"]);
        assert_eq!(parse_flow_list("[]"), Vec::<String>::new());
    }

    #[test]
    fn numeric_looking_client_ids_stay_text() {
        let env = env_of(&[("AUTHENTICATION_CLIENT_ID", "1234e5")]);
        let raw = RawConfig::load(None, &env).unwrap();
        assert_eq!(raw.str("authenticationConfiguration.clientId"), "1234e5");
    }

    #[test]
    fn secrets_and_admin_passwords_are_redacted() {
        let env = env_of(&[
            ("OIDC_CLIENT_SECRET", "s3cr3t-value"),
            ("AUTHORIZER_ADMIN_PRINCIPALS", "[alice:pa55word, bob]"),
            ("FERROMETA_DATABASE_URL", "postgres://u:dbpass@h/db"),
        ]);
        let dump = RawConfig::load(None, &env).unwrap().redacted_dump();
        assert!(!dump.contains("s3cr3t-value"), "{dump}");
        assert!(!dump.contains("pa55word"), "{dump}");
        assert!(!dump.contains("dbpass"), "{dump}");
        assert!(dump.contains("alice:***"), "{dump}");
        assert!(dump.contains("authenticationConfiguration.oidcConfiguration.secret = *** (env)"), "{dump}");
    }
}

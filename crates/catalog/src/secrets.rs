//! Secrets of service connections: which fields hold them, masking them for callers other than
//! bots, sealing them at rest, and re-sealing rows stored under earlier rules.
//!
//! Which fields are secrets comes from OpenMetadata's connection schemas
//! (`seed/connection_secrets.json`, written by `scripts/gen_connection_secrets.py` from the
//! Python client's models): per connection type, the paths inside `connection.config` of every
//! password, key, token or JWT field, through every alternative of a union. Connections of a type
//! the schemas do not know, and the entries of free-form maps, are judged by key name.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::engine::{Catalog, SecretCipher};
use crate::error::{CatalogError, Result};
use ferrometa_store::{EntityRow, Include};

/// The value OpenMetadata shows instead of a secret.
pub const MASKED: &str = "*********";

/// Marks a stored secret as encrypted (secrets stored before encryption are read as they are).
const SEALED_PREFIX: &str = "sealed:";

/// Where the secrets of a connection are: one node per field name, arrays being transparent
/// (a rule for a field applies to each item of an array there).
#[derive(Debug, Default, Clone)]
struct Node {
    secret: bool,
    /// A free-form map (`connectionArguments`): its entries are judged by name.
    free_form: bool,
    children: BTreeMap<String, Node>,
}

impl Node {
    /// Adds a path of the seed file: dotted field names, `[]` after an array field, `*` as the
    /// last segment of a free-form map.
    fn insert(&mut self, path: &str) {
        let mut node = self;
        for segment in path.split('.') {
            if segment == "*" {
                node.free_form = true;
                return;
            }
            node = node.children.entry(segment.trim_end_matches("[]").to_string()).or_default();
        }
        node.secret = true;
    }

    /// A field is secret here when it is in either tree.
    fn merged(&self, other: &Node) -> Node {
        let mut children = self.children.clone();
        for (key, child) in &other.children {
            let merged = children.get(key).map_or_else(|| child.clone(), |mine| mine.merged(child));
            children.insert(key.clone(), merged);
        }
        Node { secret: self.secret || other.secret, free_form: self.free_form || other.free_form, children }
    }
}

/// The seed file as written by `scripts/gen_connection_secrets.py`.
#[derive(Deserialize)]
struct SeedFile {
    client: String,
    families: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

struct Schemas {
    /// The client version the schemas come from.
    client: String,
    /// Per connection type, the tree of a whole `connection` (its secrets are under `config`).
    by_type: HashMap<String, Node>,
}

fn load(text: &str) -> serde_json::Result<Schemas> {
    let seed: SeedFile = serde_json::from_str(text)?;
    let mut by_type: HashMap<String, Node> = HashMap::new();
    // A type in two families (none in 1.6) gets the secrets of both.
    for (connection_type, paths) in seed.families.into_values().flatten() {
        // Listed without paths, a type is still known: none of its fields is secret.
        let node = by_type.entry(connection_type).or_default();
        for path in paths {
            node.insert(&format!("config.{path}"));
        }
    }
    Ok(Schemas { client: seed.client, by_type })
}

static SCHEMAS: LazyLock<Schemas> =
    LazyLock::new(|| load(include_str!("seed/connection_secrets.json")).unwrap_or_else(|e| unreachable!("the bundled connection_secrets.json does not load (the unit tests load it): {e}")));

/// Whether a key names a secret, for what the schemas do not describe: connections of a type
/// they do not know (a connector newer than the client the seed file was generated from, or no
/// type at all) and the entries of free-form maps, where connectors take credentials too (a
/// custom connector takes all of its own in `connectionOptions`). Matches loosely (`ssl_key`, `sslKey` and `SSLKEY` alike) and errs towards
/// masking: a masked setting costs a re-entry, a shown secret cannot be taken back.
fn is_secret_name(key: &str) -> bool {
    const SECRET_WORDS: &[&str] = &[
        "password", "passwd", "secret", "token", "jwt", "privatekey", "accesskey", "apikey", "credential", "passphrase", "sslkey", "clientkey", "keyfile", "keytab",
        "authorization", "cookie", "userinfo",
    ];
    let k: String = key.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    SECRET_WORDS.iter().any(|w| k.contains(w))
}

/// What decides which fields of a connection are secrets.
#[derive(Debug, Clone, Copy)]
enum Judge {
    /// The schema of the connection's type; key names for an unknown type.
    Schema,
    /// Key names alone, as before the schemas were used (to open what that sealed).
    Name,
}

/// Whether the value at one place of a connection, and what is below it, is secret.
#[derive(Debug, Clone, Copy)]
enum Rule<'a> {
    Schema(&'a Node),
    /// Judged by name; `true` below a secret, where everything is secret.
    Name(bool),
}

impl<'a> Rule<'a> {
    fn is_secret(self) -> bool {
        match self {
            Rule::Schema(node) => node.secret,
            Rule::Name(secret) => secret,
        }
    }

    /// The rule of a field below this place; `None` for a field the schema knows is no secret
    /// (nor holds one).
    fn child(self, key: &str) -> Option<Rule<'a>> {
        match self {
            Rule::Schema(node) => match node.children.get(key) {
                Some(child) => Some(Rule::Schema(child)),
                None if node.secret || node.free_form => Some(Rule::Name(node.secret || is_secret_name(key))),
                None => None,
            },
            Rule::Name(secret) => Some(Rule::Name(secret || is_secret_name(key))),
        }
    }
}

/// The schema tree for a connection: its declared `config.type`, with the entity's
/// `serviceType` (the type OpenMetadata parses it as) when that differs. `None` when no known
/// type applies: an unknown declared type says nothing about its fields.
fn schema_of(connection: &Value, service_type: Option<&str>) -> Option<Cow<'static, Node>> {
    let known = |t: &str| SCHEMAS.by_type.get(t);
    let declared = match connection.pointer("/config/type") {
        Some(t) => Some(known(t.as_str()?)?),
        None => None,
    };
    match (declared, service_type.and_then(known)) {
        (Some(declared), Some(implied)) if !std::ptr::eq(declared, implied) => Some(Cow::Owned(declared.merged(implied))),
        (Some(node), _) | (None, Some(node)) => Some(Cow::Borrowed(node)),
        (None, None) => None,
    }
}

/// Replaces every secret (string or number) at or below `v` by `f(secret)`.
fn visit(v: &mut Value, rule: Rule, f: &mut dyn FnMut(&Value) -> Result<Value>) -> Result<()> {
    match v {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if let Some(child) = rule.child(key) {
                    visit(field, child, f)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                visit(item, rule, f)?;
            }
        }
        Value::String(_) | Value::Number(_) if rule.is_secret() => *v = f(v)?,
        _ => {}
    }
    Ok(())
}

/// Replaces every secret of one connection by `f(secret)`.
fn map_connection(connection: &mut Value, service_type: Option<&str>, judge: Judge, f: &mut dyn FnMut(&Value) -> Result<Value>) -> Result<()> {
    let schema = match judge {
        Judge::Schema => schema_of(connection, service_type),
        Judge::Name => None,
    };
    visit(connection, schema.as_deref().map_or(Rule::Name(false), Rule::Schema), f)
}

/// Replaces every secret of a service's connection by `f(secret)`: in the entity's connection
/// and in the old and new connections its change description carries as JSON text.
fn map_secrets(entity: &mut Value, judge: Judge, f: &mut dyn FnMut(&Value) -> Result<Value>) -> Result<()> {
    let service_type = entity.get("serviceType").and_then(Value::as_str).map(str::to_string);
    let service_type = service_type.as_deref();
    if let Some(connection) = entity.get_mut("connection") {
        map_connection(connection, service_type, judge, f)?;
    }
    for list in ["/changeDescription/fieldsAdded", "/changeDescription/fieldsUpdated", "/changeDescription/fieldsDeleted"] {
        let Some(changes) = entity.pointer_mut(list).and_then(Value::as_array_mut) else { continue };
        for change in changes.iter_mut().filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("connection"))) {
            for side in ["oldValue", "newValue"] {
                let Some(text) = change.get(side).and_then(Value::as_str) else { continue };
                let replaced = match serde_json::from_str::<Value>(text) {
                    Ok(mut value) if value.is_object() || value.is_array() => {
                        map_connection(&mut value, service_type, judge, f)?;
                        value.to_string()
                    }
                    // Anything but a whole connection is a secret as a whole.
                    _ => f(&json!(text))?.as_str().unwrap_or(MASKED).to_string(),
                };
                change[side] = json!(replaced);
            }
        }
    }
    Ok(())
}

/// Replaces every secret in a service connection by [`MASKED`] (for callers other than bots).
pub fn mask_secrets(entity: &mut Value) {
    let masked: Result<()> = map_secrets(entity, Judge::Schema, &mut |_| Ok(json!(MASKED)));
    debug_assert!(masked.is_ok(), "masking cannot fail");
}

/// Encrypts the secrets of a service connection for storage.
pub(crate) fn seal_secrets(entity: &mut Value, cipher: &dyn SecretCipher) -> Result<()> {
    map_secrets(entity, Judge::Schema, &mut |secret| {
        let plain = secret.as_str().map(str::to_string).unwrap_or_else(|| secret.to_string());
        let sealed = cipher.seal(&plain).map_err(|e| CatalogError::Internal(format!("cannot encrypt a connection secret: {e}")))?;
        Ok(json!(format!("{SEALED_PREFIX}{sealed}")))
    })
}

/// The clear value of a sealed secret; `None` for a value that is not sealed or does not open.
fn opened(secret: &Value, cipher: &dyn SecretCipher) -> Option<String> {
    cipher.open(secret.as_str()?.strip_prefix(SEALED_PREFIX)?).ok()
}

/// Decrypts the secrets [`seal_secrets`] encrypted where `judge` finds secrets. A value that
/// does not open is a secret stored in clear text before encryption that happens to start with
/// [`SEALED_PREFIX`]: it is returned as stored (reads must not fail on the owner's data; the next
/// write seals it), with a warning that names neither the value nor the cipher's error, which
/// could echo it.
fn open_by(entity: &mut Value, judge: Judge, cipher: &dyn SecretCipher) -> Result<()> {
    map_secrets(entity, judge, &mut |secret| {
        Ok(match opened(secret, cipher) {
            Some(plain) => json!(plain),
            None => {
                if secret.as_str().is_some_and(|s| s.starts_with(SEALED_PREFIX)) {
                    tracing::warn!("a connection secret starting with \"{SEALED_PREFIX}\" does not decrypt; kept as stored");
                }
                secret.clone()
            }
        })
    })
}

/// Decrypts the secrets [`seal_secrets`] encrypted (see [`open_by`]).
pub(crate) fn open_secrets(entity: &mut Value, cipher: &dyn SecretCipher) -> Result<()> {
    open_by(entity, Judge::Schema, cipher)
}

/// A connection sent back with masked secrets keeps the stored secrets. Only where the new
/// connection's own rules find a secret: a request that changes the type cannot move a stored
/// secret into a field shown in clear.
pub(crate) fn unmask_secrets(body: &mut Map<String, Value>, old: &Value) {
    fn restore(new: &mut Value, stored: &Value, rule: Rule) {
        if rule.is_secret() && new == MASKED {
            *new = stored.clone();
            return;
        }
        match (new, stored) {
            (Value::Object(n), Value::Object(o)) => {
                for (key, v) in n.iter_mut() {
                    if let (Some(child), Some(stored)) = (rule.child(key), o.get(key)) {
                        restore(v, stored, child);
                    }
                }
            }
            (Value::Array(n), Value::Array(o)) => n.iter_mut().zip(o).for_each(|(n, o)| restore(n, o, rule)),
            _ => {}
        }
    }
    let service_type = body.get("serviceType").and_then(Value::as_str).map(str::to_string);
    let (Some(new), Some(stored)) = (body.get_mut("connection"), old.get("connection")) else { return };
    let schema = schema_of(new, service_type.as_deref());
    restore(new, stored, schema.as_deref().map_or(Rule::Name(false), Rule::Schema));
}

/// A stored entity with every sealed secret that opens (where either judge finds secrets)
/// replaced by `{"opened": <clear value>}`, which no clear string equals: two entities with the
/// same secrets sealed in the same places are marked alike, whatever their ciphertexts.
fn marked(entity: &Value, cipher: &dyn SecretCipher) -> Result<Value> {
    let mut marked = entity.clone();
    for judge in [Judge::Name, Judge::Schema] {
        map_secrets(&mut marked, judge, &mut |secret| Ok(opened(secret, cipher).map_or_else(|| secret.clone(), |plain| json!({"opened": plain}))))?;
    }
    Ok(marked)
}

/// A stored entity as the schemas seal it, or `None` when it already is: what the key-name
/// rules of earlier versions sealed (some of it no secret, e.g. an AWS access key id) is
/// opened, then every secret the schemas name sealed (some of it missed by those rules, e.g. a
/// JWT or an SSL key).
fn resealed(stored: &Value, cipher: &dyn SecretCipher) -> Result<Option<Value>> {
    let mut target = stored.clone();
    open_by(&mut target, Judge::Name, cipher)?;
    open_by(&mut target, Judge::Schema, cipher)?;
    seal_secrets(&mut target, cipher)?;
    Ok((marked(stored, cipher)? != marked(&target, cipher)?).then_some(target))
}

/// [`resealed`] on stored JSON text.
fn resealed_json(stored: &str, cipher: &dyn SecretCipher) -> Result<Option<String>> {
    let entity: Value = serde_json::from_str(stored).map_err(|e| CatalogError::Internal(format!("not valid JSON: {e}")))?;
    resealed(&entity, cipher)?.map(|e| serde_json::to_string(&e).map_err(CatalogError::from)).transpose()
}

/// Settings flag: the client version whose schemas the stored connection secrets are sealed
/// by. A seed file from another client version re-seals them at the next start.
const SEALED_BY: &str = "connection_secrets.sealed_by";

impl Catalog {
    /// Re-seals, once per seed file, every service row and stored version so that its secrets
    /// are sealed as the schemas say: rows written when key names chose the secrets hold some in
    /// clear. Rows are rewritten in place (no new version) and only when they still hold what
    /// was read, so replicas starting together, or writing meanwhile, lose nothing; a row
    /// already sealed as the schemas say is left alone.
    pub async fn reseal_connection_secrets(&self) -> Result<()> {
        let Some(cipher) = self.cipher() else { return Ok(()) };
        if self.store().get_setting(SEALED_BY).await?.as_deref() == Some(SCHEMAS.client.as_str()) {
            return Ok(());
        }
        for t in crate::data::ENTITY_TYPES.iter().filter(|t| t.entity_fields.contains(&"connection")) {
            let mut after: Option<String> = None;
            loop {
                let page = self.store().list_entities(t.kind.name, None, Include::All, 500, after.as_deref(), None).await?;
                for row in &page.rows {
                    self.reseal_row(row, cipher).await?;
                }
                match page.after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        self.store().put_setting(SEALED_BY, &SCHEMAS.client).await?;
        Ok(())
    }

    async fn reseal_row(&self, row: &EntityRow, cipher: &dyn SecretCipher) -> Result<()> {
        let context = |e: CatalogError| CatalogError::Internal(format!("re-sealing {} {}: {e}", row.entity_type, row.id));
        let mut current = row.clone();
        while let Some(json) = resealed_json(&current.json, cipher).map_err(context)? {
            if self.store().rewrite_entity_json(&current, &json).await? {
                break;
            }
            // Written meanwhile (by an older replica, maybe): re-seal what it wrote.
            match self.store().entity_by_id(&row.entity_type, &row.id).await? {
                Some(fresh) => current = fresh,
                None => break,
            }
        }
        for (version, stored) in self.store().entity_versions(&row.id).await? {
            if let Some(json) = resealed_json(&stored, cipher).map_err(context)? {
                // A version is only ever rewritten by this task: losing the race means another
                // replica re-sealed it.
                self.store().rewrite_entity_version(&row.id, &version, &stored, &json).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cipher whose `open` fails the way a legacy clear-text value makes it fail, and whose
    /// ciphertexts differ at every call, as the server's do.
    #[derive(Default)]
    struct Counting(std::sync::atomic::AtomicUsize);
    impl SecretCipher for Counting {
        fn seal(&self, plaintext: &str) -> std::result::Result<String, String> {
            Ok(format!("enc{}({plaintext})", self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
        }
        fn open(&self, sealed: &str) -> std::result::Result<String, String> {
            let body = sealed.strip_prefix("enc").and_then(|s| s.split_once('(')).map(|(_, s)| s);
            body.and_then(|s| s.strip_suffix(')')).map(str::to_string).ok_or_else(|| "bad ciphertext".into())
        }
    }

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldGwifQ.c2lnbmF0dXJl";
    const SSL_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";

    fn trino() -> Value {
        json!({"serviceType": "Trino", "connection": {"config": {"type": "Trino", "username": "etl", "hostPort": "trino:8080", "catalog": "hive",
               "authType": {"jwt": JWT}}}})
    }

    fn postgres() -> Value {
        json!({"serviceType": "Postgres", "connection": {"config": {"type": "Postgres", "username": "etl", "hostPort": "db:5432", "database": "sales",
               "authType": {"password": "s3cret"}, "sslMode": "verify-full", "sslConfig": {"sslKey": SSL_KEY}}}})
    }

    fn config(entity: &Value) -> &Value {
        &entity["connection"]["config"]
    }

    #[test]
    fn the_bundled_schemas_load_with_every_service_family() {
        let seed: SeedFile = serde_json::from_str(include_str!("seed/connection_secrets.json")).expect("the seed file parses");
        let families: Vec<&str> = seed.families.keys().map(String::as_str).collect();
        assert_eq!(families, ["api", "dashboard", "database", "messaging", "metadata", "mlmodel", "pipeline", "search", "storage"], "a service family is missing");
        assert_eq!(SCHEMAS.client, "1.6.13.2");
        let secret = |t: &str, path: &str| format!("config.{path}").split('.').try_fold(Rule::Schema(&SCHEMAS.by_type[t]), |rule, key| rule.child(key)).is_some_and(Rule::is_secret);
        for (t, path) in [
            ("Trino", "authType.jwt"),
            ("Trino", "authType.password"),
            ("Postgres", "sslConfig.sslKey"),
            ("Postgres", "authType.awsConfig.awsSecretAccessKey"),
            ("BigQuery", "credentials.gcpConfig.privateKey"),
            ("Snowflake", "privateKey"),
            ("Kafka", "saslPassword"),
            ("Looker", "gitCredentials.token"),
            ("OpenSearch", "password"),
        ] {
            assert!(secret(t, path), "{t} {path} is not a secret");
        }
        assert!(!secret("Trino", "hostPort") && !secret("Postgres", "authType.awsConfig.awsAccessKeyId"), "identifiers are no secrets");
    }

    #[test]
    fn a_trino_jwt_and_a_postgres_ssl_key_are_masked_sealed_and_opened() {
        let cipher = Counting::default();
        for (entity, secrets) in [(trino(), vec!["/authType/jwt"]), (postgres(), vec!["/authType/password", "/sslConfig/sslKey"])] {
            let mut masked = entity.clone();
            mask_secrets(&mut masked);
            let mut sealed = entity.clone();
            seal_secrets(&mut sealed, &cipher).unwrap();
            for pointer in &secrets {
                assert_eq!(config(&masked).pointer(pointer), Some(&json!(MASKED)), "{pointer} is shown to non-bots: {masked}");
                let stored = config(&sealed).pointer(pointer).and_then(Value::as_str).unwrap_or_default();
                assert!(stored.starts_with("sealed:enc"), "{pointer} is stored in clear: {sealed}");
            }
            for unmasked in [&masked, &sealed] {
                let mut others = config(unmasked).clone();
                let mut expected = config(&entity).clone();
                for pointer in &secrets {
                    others.pointer_mut(pointer).map(Value::take);
                    expected.pointer_mut(pointer).map(Value::take);
                }
                assert_eq!(others, expected, "a field that is no secret changed");
            }
            open_secrets(&mut sealed, &cipher).unwrap();
            assert_eq!(sealed, entity, "sealed secrets open to the clear values");
        }
    }

    #[test]
    fn unknown_types_and_free_form_maps_are_judged_by_key_name() {
        let mut newer = json!({"serviceType": "Cassandra", "connection": {"config": {"type": "Cassandra", "username": "u", "hostPort": "h:9042",
            "auth": {"jwt": "j", "ssl_key": "k", "privateKey": "p", "keyfile": "f", "credentials": {"projectId": "p1"}}}}});
        mask_secrets(&mut newer);
        let auth = &config(&newer)["auth"];
        assert_eq!([&auth["jwt"], &auth["ssl_key"], &auth["privateKey"], &auth["keyfile"], &auth["credentials"]["projectId"]], [&json!(MASKED); 5]);
        assert_eq!((&config(&newer)["username"], &config(&newer)["hostPort"]), (&json!("u"), &json!("h:9042")), "an unknown type keeps its plain fields");

        let mut known = trino();
        known["connection"]["config"]["connectionArguments"] = json!({"access_token": "t", "http_scheme": "https"});
        known["connection"]["config"]["surprise_password"] = json!("not in Trino's schema");
        mask_secrets(&mut known);
        let arguments = &config(&known)["connectionArguments"];
        assert_eq!((&arguments["access_token"], &arguments["http_scheme"]), (&json!(MASKED), &json!("https")), "free-form entries are judged by name");
        assert_eq!(config(&known)["surprise_password"], json!("not in Trino's schema"), "a known type's schema decides");
    }

    #[test]
    fn a_declared_type_and_the_service_type_both_decide() {
        let mut mislabeled = trino();
        mislabeled["connection"]["config"]["type"] = json!("Mysql");
        mask_secrets(&mut mislabeled);
        assert_eq!(config(&mislabeled)["authType"]["jwt"], json!(MASKED), "Trino's secrets stay secret under another declared type");
        let mut untyped = trino();
        untyped["connection"]["config"].as_object_mut().map(|c| c.remove("type"));
        mask_secrets(&mut untyped);
        assert_eq!(config(&untyped)["authType"]["jwt"], json!(MASKED), "the service type decides without a declared one");
    }

    #[test]
    fn masked_values_keep_the_stored_secret_only_where_the_new_connection_has_a_secret() {
        let stored = postgres();
        let mut shown = stored.clone();
        mask_secrets(&mut shown);
        let mut sent = shown.as_object().cloned().unwrap();
        unmask_secrets(&mut sent, &stored);
        assert_eq!(Value::Object(sent), stored, "masked values sent back keep the stored secrets");

        let stored = trino();
        let mut retyped = json!({"serviceType": "Mysql", "connection": {"config": {"type": "Mysql", "username": "etl", "authType": {"jwt": MASKED}}}});
        let retyped = retyped.as_object_mut().unwrap();
        unmask_secrets(retyped, &stored);
        assert_eq!(retyped["connection"]["config"]["authType"]["jwt"], json!(MASKED), "a secret moved under a type where it is shown in clear");
    }

    #[test]
    fn secrets_in_change_descriptions_are_masked() {
        let old = postgres()["connection"].to_string();
        let new = trino()["connection"].to_string();
        let mut changed = json!({"serviceType": "Trino", "connection": {}, "changeDescription": {"fieldsUpdated": [
            {"name": "connection", "oldValue": old, "newValue": new}, {"name": "connection.config.password", "oldValue": "p4ss"}]}});
        mask_secrets(&mut changed);
        let text = changed["changeDescription"].to_string();
        for secret in ["s3cret", "PRIVATE KEY", JWT, "p4ss"] {
            assert!(!text.contains(secret), "{secret} is shown in a change description: {text}");
        }
        assert!(text.contains("trino:8080") && text.contains("db:5432"), "change descriptions keep what is no secret: {text}");
    }

    #[test]
    fn a_clear_text_secret_that_looks_sealed_is_read_as_stored() {
        let cipher = Counting::default();
        let mut legacy = json!({"connection": {"config": {"type": "Mysql", "authType": {"password": "sealed:not-a-ciphertext"}}}});
        open_secrets(&mut legacy, &cipher).unwrap();
        assert_eq!(legacy["connection"]["config"]["authType"]["password"], json!("sealed:not-a-ciphertext"));
        // The next write seals it, and it then opens to the same value.
        seal_secrets(&mut legacy, &cipher).unwrap();
        open_secrets(&mut legacy, &cipher).unwrap();
        assert_eq!(legacy["connection"]["config"]["authType"]["password"], json!("sealed:not-a-ciphertext"));
    }

    #[test]
    fn resealing_seals_what_key_names_missed_and_opens_what_they_sealed_wrongly() {
        let cipher = Counting::default();
        let mut legacy = postgres();
        legacy["connection"]["config"]["authType"] = json!({"awsConfig": {"awsAccessKeyId": format!("sealed:{}", cipher.seal("AKIA").unwrap()), "awsRegion": "eu-west-1"}});
        let sealed = resealed(&legacy, &cipher).unwrap().expect("a legacy row is re-sealed");
        let aws = &config(&sealed)["authType"]["awsConfig"];
        assert_eq!(aws["awsAccessKeyId"], json!("AKIA"), "an access key id is no secret: stored in clear, shown to all");
        assert!(config(&sealed)["sslConfig"]["sslKey"].as_str().unwrap().starts_with("sealed:"), "the SSL key is sealed: {sealed}");
        assert_eq!(resealed(&sealed, &cipher).unwrap(), None, "a re-sealed row is left alone");
        let mut opened = sealed.clone();
        open_secrets(&mut opened, &cipher).unwrap();
        assert_eq!(config(&opened)["sslConfig"]["sslKey"], json!(SSL_KEY));
    }
}

//! One principal resolver for every token source (identity provider and our own tokens):
//! OpenMetadata's claim order and mapping (contract §3.5), lower-cased names, principal-domain
//! enforcement, and the rule that an unverified email grants no domain match and no admin rights.

use ferrometa_config::{AuthenticationConfig, AuthorizerConfig, ClaimsMapping};

use crate::claims::Claims;
use crate::error::{AuthError, Result};

/// Who made a request, as established from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub email: String,
    pub is_bot: bool,
    /// Whether the email may be trusted for domain and admin decisions.
    pub email_verified: bool,
    /// (issuer, subject) that identifies an SSO user; `None` for our own tokens.
    pub sso_subject: Option<(String, String)>,
    /// Groups from the identity provider's groups claim (for role mapping).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PrincipalRules {
    claims: Vec<String>,
    mapping: Option<ClaimsMapping>,
    principal_domain: String,
    enforce_domain: bool,
    allowed_domains: Vec<String>,
    groups_claim: String,
}

/// What kind of token the claims came from; decides which claims are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimSource {
    /// Our own token: the email was set by us.
    Own,
    /// An identity provider's ID token.
    IdpId,
    /// An identity provider's access token: no email, `username` names the user.
    IdpAccess,
}

fn local_part(v: &str) -> &str {
    v.split('@').next().unwrap_or(v)
}

fn domain_of(email: &str) -> String {
    email.split_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default()
}

impl PrincipalRules {
    pub fn new(authn: &AuthenticationConfig, authz: &AuthorizerConfig) -> PrincipalRules {
        PrincipalRules {
            claims: authn.jwt_principal_claims.clone(),
            mapping: authn.claims_mapping.clone(),
            principal_domain: authz.principal_domain.clone(),
            enforce_domain: authz.enforce_principal_domain,
            allowed_domains: authz.allowed_domains.clone(),
            groups_claim: authn.groups_claim.clone(),
        }
    }

    pub fn principal_domain(&self) -> &str {
        &self.principal_domain
    }

    /// `name` → `name@principalDomain`, emails kept as they are (lower-cased).
    pub fn email_for(&self, value: &str) -> String {
        if value.contains('@') { value.to_lowercase() } else { format!("{}@{}", value.to_lowercase(), self.principal_domain) }
    }

    fn name_and_email(&self, claims: &Claims, source: ClaimSource, is_bot: bool) -> Result<(String, String, bool)> {
        match &self.mapping {
            Some(m) if !is_bot && source != ClaimSource::IdpAccess => {
                let name = claims.as_text(&m.username).ok_or_else(|| AuthError::unauthorized("Invalid JWT token, 'username' claim is not present"))?;
                let email = claims.as_text(&m.email).filter(|e| e.contains('@')).ok_or_else(|| {
                    AuthError::unauthorized(format!("Invalid JWT token, 'email' claim is not present or invalid : {}", claims.as_text(&m.email).unwrap_or_default()))
                })?;
                let from_email = m.email.eq_ignore_ascii_case("email");
                Ok((local_part(&name).to_lowercase(), email.to_lowercase(), from_email))
            }
            _ => {
                // Cognito access tokens carry no email; their `username` names the user.
                let order: Vec<&str> = match source {
                    ClaimSource::IdpAccess => std::iter::once("username").chain(self.claims.iter().map(String::as_str)).collect(),
                    _ => self.claims.iter().map(String::as_str).collect(),
                };
                let (claim, value) = order
                    .iter()
                    .find_map(|c| claims.as_text(c).map(|v| (*c, v)))
                    .ok_or_else(|| AuthError::unauthorized(format!("Invalid JWT token, none of the following claims are present [{}]", self.claims.join(", "))))?;
                Ok((local_part(&value).to_lowercase(), self.email_for(&value), claim.eq_ignore_ascii_case("email")))
            }
        }
    }

    /// Resolves and checks the principal of verified claims.
    pub fn resolve(&self, claims: &Claims, source: ClaimSource, issuer: &str) -> Result<Principal> {
        let is_bot = source == ClaimSource::Own && claims.flag("isBot") == Some(true);
        let (name, email, from_email_claim) = self.name_and_email(claims, source, is_bot)?;
        if name.is_empty() {
            return Err(AuthError::unauthorized("Invalid JWT token, the principal claim is empty"));
        }
        // Our own tokens carry emails we set; an IdP's email counts only when it says verified.
        let email_verified = match source {
            ClaimSource::Own => true,
            _ => from_email_claim && claims.flag("email_verified") == Some(true),
        };
        // An access token carries no email, so its domain cannot be judged here: the server
        // checks the stored email of the user bound to its (iss, sub) instead
        // (`enforces_domain` + `check_domain`), and refuses unbound access tokens.
        if self.enforce_domain && !is_bot && source != ClaimSource::IdpAccess {
            self.check_domain(&email, email_verified)?;
        }
        let sso_subject = match source {
            ClaimSource::Own => None,
            _ => Some((issuer.to_string(), claims.as_text("sub").unwrap_or_default())),
        };
        Ok(Principal { name, email, is_bot, email_verified, sso_subject, groups: claims.string_list(&self.groups_claim) })
    }

    /// Whether `enforcePrincipalDomain` is on.
    pub fn enforces_domain(&self) -> bool {
        self.enforce_domain
    }

    /// The principal-domain rule for an email: verified and in the allowed domains.
    pub fn check_domain(&self, email: &str, email_verified: bool) -> Result<()> {
        let allowed = if self.allowed_domains.is_empty() { vec![self.principal_domain.clone()] } else { self.allowed_domains.clone() };
        let shown = allowed.join(", ");
        if !email_verified {
            return Err(AuthError::unauthorized(format!("Not Authorized! Email is not verified, so it cannot match the principal domain {shown}")));
        }
        if !allowed.contains(&domain_of(email)) {
            return Err(AuthError::unauthorized(format!("Not Authorized! Email does not match the principal domain {shown}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(env: &[(&str, &str)]) -> PrincipalRules {
        let map: std::collections::HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let c = ferrometa_config::load(None, &|k| map.get(k).cloned()).unwrap().config;
        PrincipalRules::new(&c.authentication, &c.authorizer)
    }

    fn claims(v: serde_json::Value) -> Claims {
        Claims(v.as_object().unwrap().clone().into_iter().collect())
    }

    /// Golden table: claims in → (name, email, verified) out, per token shape.
    #[test]
    fn golden_principal_resolution() {
        let r = rules(&[]);
        let cases: Vec<(serde_json::Value, ClaimSource, (&str, &str, bool))> = vec![
            // Cognito ID token with email
            (json!({"sub": "5a3b", "email": "Alice@Example.com", "email_verified": true, "cognito:username": "alice"}), ClaimSource::IdpId, ("alice", "alice@example.com", true)),
            // moto: email_verified as a string
            (json!({"sub": "5a3b", "email": "bob@example.com", "email_verified": "true"}), ClaimSource::IdpId, ("bob", "bob@example.com", true)),
            (json!({"sub": "5a3b", "email": "eve@example.com", "email_verified": "false"}), ClaimSource::IdpId, ("eve", "eve@example.com", false)),
            (json!({"sub": "5a3b", "email": "eve@example.com"}), ClaimSource::IdpId, ("eve", "eve@example.com", false)),
            // ID token without email falls back to preferred_username, then sub
            (json!({"sub": "5a3b", "preferred_username": "carol"}), ClaimSource::IdpId, ("carol", "carol@open-metadata.org", false)),
            (json!({"sub": "5A3B-uuid"}), ClaimSource::IdpId, ("5a3b-uuid", "5a3b-uuid@open-metadata.org", false)),
            // Cognito access token: username, no email
            (json!({"sub": "5a3b", "username": "Alice", "client_id": "c", "token_use": "access"}), ClaimSource::IdpAccess, ("alice", "alice@open-metadata.org", false)),
            // our own tokens
            (json!({"sub": "ingestion-bot", "email": "ingestion-bot@open-metadata.org", "isBot": true}), ClaimSource::Own, ("ingestion-bot", "ingestion-bot@open-metadata.org", true)),
        ];
        for (c, source, (name, email, verified)) in cases {
            let p = r.resolve(&claims(c.clone()), source, "https://idp").unwrap();
            assert_eq!((p.name.as_str(), p.email.as_str(), p.email_verified), (name, email, verified), "claims {c}");
        }
    }

    #[test]
    fn missing_claims_give_the_contract_message() {
        let err = rules(&[]).resolve(&claims(json!({"aud": "x"})), ClaimSource::IdpId, "i").unwrap_err();
        assert_eq!(err.to_string(), "Invalid JWT token, none of the following claims are present [email, preferred_username, sub]");
    }

    #[test]
    fn mapping_reads_the_named_claims() {
        let r = rules(&[("AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING", "[username:cognito:username, email:email]")]);
        // claim names containing ':' are split once, so `cognito:username` stays whole
        let p = r.resolve(&claims(json!({"cognito:username": "Alice", "email": "a@x.org", "email_verified": true})), ClaimSource::IdpId, "i").unwrap();
        assert_eq!((p.name.as_str(), p.email.as_str()), ("alice", "a@x.org"));
        let err = r.resolve(&claims(json!({"email": "a@x.org"})), ClaimSource::IdpId, "i").unwrap_err();
        assert_eq!(err.to_string(), "Invalid JWT token, 'username' claim is not present");
        let err = r.resolve(&claims(json!({"cognito:username": "a", "email": "nope"})), ClaimSource::IdpId, "i").unwrap_err();
        assert_eq!(err.to_string(), "Invalid JWT token, 'email' claim is not present or invalid : nope");
    }

    #[test]
    fn domain_enforcement_is_case_insensitive_and_needs_a_verified_email() {
        let r = rules(&[("AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN", "true"), ("AUTHORIZER_PRINCIPAL_DOMAIN", "Example.com")]);
        assert!(r.resolve(&claims(json!({"sub": "1", "email": "a@EXAMPLE.COM", "email_verified": true})), ClaimSource::IdpId, "i").is_ok());
        let other = r.resolve(&claims(json!({"sub": "1", "email": "a@other.com", "email_verified": true})), ClaimSource::IdpId, "i").unwrap_err();
        assert_eq!(other.to_string(), "Not Authorized! Email does not match the principal domain example.com");
        let unverified = r.resolve(&claims(json!({"sub": "1", "email": "a@example.com", "email_verified": false})), ClaimSource::IdpId, "i").unwrap_err();
        assert!(unverified.to_string().contains("not verified"), "{unverified}");
        // bots are exempt, as in OpenMetadata
        assert!(r.resolve(&claims(json!({"sub": "b", "email": "b@elsewhere.org", "isBot": true})), ClaimSource::Own, "i").is_ok());
    }

    #[test]
    fn access_tokens_leave_the_domain_check_to_the_bound_user() {
        let r = rules(&[("AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN", "true")]);
        // No email in a Cognito access token: resolving must not refuse it for that reason ...
        let p = r.resolve(&claims(json!({"sub": "1", "username": "alice", "client_id": "c", "token_use": "access"})), ClaimSource::IdpAccess, "i").unwrap();
        assert!(!p.email_verified, "an access token never vouches for an email");
        assert!(r.enforces_domain());
        // ... and the bound user's stored email is judged with the same rule.
        assert!(r.check_domain("alice@open-metadata.org", true).is_ok());
        assert!(r.check_domain("alice@open-metadata.org", false).is_err());
        assert!(r.check_domain("mallory@other.org", true).is_err());
        // ID tokens are still judged by their own email.
        assert!(r.resolve(&claims(json!({"sub": "1", "email": "m@other.org", "email_verified": true})), ClaimSource::IdpId, "i").is_err());
    }

    #[test]
    fn allowed_domains_replace_the_principal_domain() {
        let r = rules(&[("AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN", "true"), ("AUTHORIZER_ALLOWED_DOMAINS", "[a.org, b.org]")]);
        assert!(r.resolve(&claims(json!({"email": "x@b.org", "email_verified": true})), ClaimSource::IdpId, "i").is_ok());
        assert!(r.resolve(&claims(json!({"email": "x@open-metadata.org", "email_verified": true})), ClaimSource::IdpId, "i").is_err());
    }
}

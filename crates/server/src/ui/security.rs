//! The administrators' security checklist: the production requirements of OpenMetadata's
//! Cognito guide and of `decisions.md`, checked against this server as it runs.

use axum::response::Response;
use ferrometa_auth::verify::is_own_jwks_url;
use ferrometa_catalog::kinds::USER;
use ferrometa_store::Include;

use super::Viewer;
use super::html::esc;
use crate::session::public_base_url;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
    Info,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "Check",
            Status::Fail => "Action needed",
            Status::Info => "Info",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Info => "info",
        }
    }
}

struct Item {
    id: &'static str,
    status: Status,
    title: &'static str,
    detail: String,
}

pub async fn page(v: Viewer) -> Response {
    if let Err(r) = v.require_admin() {
        return r;
    }
    let items = checks(&v).await;
    let failing = items.iter().filter(|i| i.status == Status::Fail).count();
    let mut body = format!(r#"<p id="summary">{} item(s), {failing} needing action.</p><table class="list checklist" id="checklist"><thead><tr><th scope="col">Status</th><th scope="col">Requirement</th><th scope="col">This server</th></tr></thead><tbody>"#, items.len());
    for i in &items {
        body.push_str(&format!(
            r#"<tr id="check-{id}" data-status="{class}"><td><span class="badge {class}">{label}</span></td><th scope="row">{title}</th><td>{detail}</td></tr>"#,
            id = i.id,
            class = i.status.class(),
            label = i.status.label(),
            title = esc(i.title),
            detail = esc(&i.detail)
        ));
    }
    body.push_str("</tbody></table>");
    v.render("Security checklist", &body)
}

async fn checks(v: &Viewer) -> Vec<Item> {
    let s = &v.state;
    let a = &s.config.authentication;
    let sso = a.provider.is_sso();
    let mut items = vec![];

    // Default admin (the guide: "delete the admin default account" once SSO works).
    let admin = s.catalog.user_by_name("admin").await.ok().flatten().filter(|u| u["deleted"] != serde_json::json!(true));
    let with_password = s.store.users_with_passwords().await.unwrap_or_default();
    let admin_has_password = admin.as_ref().and_then(|u| u["id"].as_str()).is_some_and(|id| with_password.iter().any(|p| p == id));
    items.push(match (sso, admin.is_some(), admin_has_password) {
        (true, true, true) => Item { id: "default-admin", status: Status::Fail, title: "Default admin removed", detail: "The default admin still exists and holds a password. Delete it on the Users page once an SSO administrator can sign in.".into() },
        (true, true, false) => Item { id: "default-admin", status: Status::Warn, title: "Default admin removed", detail: "The default admin user exists (without a password, so it cannot sign in). Delete it on the Users page if it is not a real person.".into() },
        (true, false, _) => Item { id: "default-admin", status: Status::Ok, title: "Default admin removed", detail: "No default admin user; deleting it sticks across restarts.".into() },
        (false, present, _) => Item { id: "default-admin", status: Status::Info, title: "Default admin removed", detail: if present { "Basic auth: the default admin signs in with its password; change it or create named administrators.".into() } else { "No default admin user.".into() } },
    });
    let others: Vec<String> = if sso {
        let mut names = vec![];
        for id in with_password.iter().take(10) {
            if let Ok(u) = s.catalog.get(&USER, id, Include::All).await {
                names.push(u["name"].as_str().unwrap_or_default().to_string());
            }
        }
        names
    } else {
        vec![]
    };
    if sso && !others.is_empty() {
        items.push(Item { id: "passwords", status: Status::Warn, title: "No passwords with SSO", detail: format!("Users still holding a password (unusable with SSO): {}", others.join(", ")) });
    }

    // Keys.
    items.push(if s.config.jwt.private_key_path.is_some() {
        Item { id: "jwt-keys", status: Status::Ok, title: "JWT signing keys", detail: format!("Configured key files (kid {}), shareable by replicas.", s.keys.kid) }
    } else {
        Item { id: "jwt-keys", status: Status::Ok, title: "JWT signing keys", detail: format!("Generated for this install (kid {}); no published default key. Several replicas need the same configured key files.", s.keys.kid) }
    });
    let own_jwks = a.public_key_urls.iter().any(|u| is_own_jwks_url(u));
    items.push(Item {
        id: "own-jwks",
        status: if own_jwks { Status::Ok } else { Status::Warn },
        title: "Own JWKS URL in publicKeyUrls",
        detail: if own_jwks { "publicKeyUrls lists this server's /api/v1/system/config/jwks (served in-process, never fetched).".into() } else { "Add this server's /api/v1/system/config/jwks to publicKeyUrls (AUTHENTICATION_PUBLIC_KEYS), as the guide does, so bot and personal tokens are recognised everywhere.".into() },
    });

    // Identity provider.
    if sso {
        match s.sessions.oidc() {
            None => items.push(Item { id: "discovery", status: Status::Fail, title: "Identity provider discovery", detail: "No callbackUrl configured: browser sign-in is off.".into() }),
            Some(oidc) => {
                match oidc.discovery().await {
                    Ok(d) => {
                        items.push(Item { id: "discovery", status: Status::Ok, title: "Identity provider discovery", detail: format!("{} answers; issuer is the configured authority.", oidc.discovery_url()) });
                        if let Some(jwks) = &d.jwks_uri {
                            let listed = a.public_key_urls.iter().any(|u| u == jwks);
                            items.push(Item {
                                id: "jwks-listed",
                                status: if listed { Status::Ok } else { Status::Warn },
                                title: "Provider JWKS in publicKeyUrls",
                                detail: if listed { format!("{jwks} is listed.") } else { format!("The provider publishes its keys at {jwks}, which publicKeyUrls does not list.") },
                            });
                        }
                    }
                    Err(e) => items.push(Item { id: "discovery", status: Status::Fail, title: "Identity provider discovery", detail: e.to_string() }),
                }
                for url in a.public_key_urls.iter().filter(|u| !is_own_jwks_url(u)) {
                    items.push(match oidc.probe(url).await {
                        Ok(()) => Item { id: "jwks-reachable", status: Status::Ok, title: "Provider JWKS reachable", detail: format!("{url} answers.") },
                        Err(e) => Item { id: "jwks-reachable", status: Status::Fail, title: "Provider JWKS reachable", detail: format!("{url}: {e}") },
                    });
                }
                items.push(Item { id: "logout-uri", status: Status::Info, title: "Sign-out URL registered at the provider", detail: format!("Register {} as an allowed sign-out URL of the app client.", oidc.logout_uri()) });
            }
        }
    }

    // Sign-up and domains.
    items.push(Item {
        id: "self-signup",
        status: if sso && a.enable_self_signup && !s.config.authorizer.enforce_principal_domain { Status::Warn } else { Status::Info },
        title: "Self-signup",
        detail: match (a.enable_self_signup, a.jit_provisioning) {
            (true, true) => "On, with just-in-time provisioning: anyone the provider signs in gets a user.".into(),
            (true, false) => "On: anyone the provider signs in can create their user.".into(),
            (false, _) => "Off: administrators create users.".into(),
        },
    });
    let domains = if s.config.authorizer.allowed_domains.is_empty() { s.config.authorizer.principal_domain.clone() } else { s.config.authorizer.allowed_domains.join(", ") };
    items.push(Item {
        id: "domain",
        status: if s.config.authorizer.enforce_principal_domain { Status::Ok } else { Status::Info },
        title: "Principal domain enforcement",
        detail: if s.config.authorizer.enforce_principal_domain { format!("On: only verified emails of {domains}.") } else { format!("Off (principal domain {domains}).") },
    });

    // Transport and sessions.
    let base = public_base_url(&s.config);
    items.push(Item {
        id: "https",
        status: if base.starts_with("https://") { Status::Ok } else { Status::Warn },
        title: "HTTPS",
        detail: if base.starts_with("https://") { format!("{base}: cookies are Secure with the __Host- prefix, HSTS is sent.") } else { format!("{base} is plain http: fine on this machine, not in production.") },
    });
    items.push(Item {
        id: "sessions",
        status: Status::Info,
        title: "Browser sessions",
        detail: format!("Idle timeout {} s, absolute {} s, tokens refreshed {} s before expiry; stored in the database.", a.session_idle_timeout_secs, a.session_absolute_timeout_secs, a.session_refresh_margin_secs),
    });
    items
}

//! Browser fixtures shared by the integration tests: a server pointed at the in-process OpenID
//! provider, the provider sign-in and the basic form, cookies, CSRF tokens and form bodies.

use ferrometa_auth::fake_idp::FakeIdp;
use ferrometa_testkit::TestServer;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const CLIENT: &str = "om-test-client";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server configured like the Cognito guide, pointed at the fake provider, on a known port.
pub async fn sso_server(idp: &FakeIdp, extra: &[(&str, &str)]) -> TestServer {
    sso_server_on(idp, extra, None).await
}

pub async fn sso_server_on(idp: &FakeIdp, extra: &[(&str, &str)], database_url: Option<&str>) -> TestServer {
    let port = free_port().to_string();
    let origin = format!("http://127.0.0.1:{port}");
    let keys = format!("[{}, {origin}/api/v1/system/config/jwks]", idp.jwks_url());
    let callback = format!("{origin}/callback");
    let mut env: Vec<(&str, &str)> = vec![
        ("SERVER_PORT", &port),
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_AUTHORITY", &idp.issuer),
        ("AUTHENTICATION_CLIENT_ID", CLIENT),
        ("AUTHENTICATION_PUBLIC_KEYS", &keys),
        ("AUTHENTICATION_CALLBACK_URL", &callback),
        ("AUTHORIZER_ADMIN_PRINCIPALS", "[admin, alice]"),
    ];
    env.extend_from_slice(extra);
    if let Some(url) = database_url {
        env.push(("FERROMETA_DATABASE_URL", url));
    }
    TestServer::start(&env).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `name=value` of a `Set-Cookie` header with that cookie name, and the whole header.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}="))).map(|c| {
        let value = c.split(';').next().unwrap().to_string();
        (value, c.to_string())
    })
}

/// Signs in through the provider; returns the session cookie (`fm_session=…`), the callback
/// URL and the callback's `Set-Cookie` header.
pub async fn sign_in(s: &TestServer) -> (String, String, String) {
    let c = http();
    let start = c.get(s.url("/login")).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let (flow, flow_header) = set_cookie(&start, "fm_flow").expect("flow cookie");
    assert!(flow_header.contains("HttpOnly") && flow_header.contains("SameSite=Lax") && flow_header.contains("Max-Age=600"), "{flow_header}");
    let at_idp = c.get(start.headers()[LOCATION].to_str().unwrap()).send().await.unwrap();
    let callback = at_idp.headers()[LOCATION].to_str().unwrap().to_string();
    let done = c.get(&callback).header(COOKIE, &flow).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    let (session, header) = set_cookie(&done, "fm_session").expect("session cookie");
    (session, callback, header)
}

pub async fn call(s: &TestServer, method: Method, path: &str, cookie: &str, csrf: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = http().request(method, s.url(path)).header(COOKIE, cookie);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The session's CSRF token, as the pages embed it in their forms.
pub async fn csrf_of(s: &TestServer, cookie: &str) -> String {
    let page = http().get(s.url("/profile")).header(COOKIE, cookie).send().await.unwrap().text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a form with the CSRF token") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

pub const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v))).collect::<Vec<_>>().join("&")
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in with the basic form (fetching its login CSRF cookie and token first); returns the
/// answer, which carries the session cookie on success.
pub async fn form_sign_in(s: &TestServer, email: &str, password: &str) -> reqwest::Response {
    let signin = http().get(s.url("/signin")).send().await.unwrap();
    let (login_cookie, _) = set_cookie(&signin, "fm_login").expect("login CSRF cookie");
    let html = signin.text().await.unwrap();
    let at = html.find("name=\"login_csrf\" value=\"").expect("the login form") + 25;
    let token = html[at..].split('"').next().unwrap().to_string();
    let fields = form(&[("email", email), ("password", password), ("login_csrf", &token), ("next", "/")]);
    http().post(s.url("/signin")).header(COOKIE, login_cookie).header("content-type", FORM).body(fields).send().await.unwrap()
}

/// Sends a signed-in page's form without fields (`/logout`, `/profile/sessions/end`), with the
/// session's CSRF token.
pub async fn post_page_form(s: &TestServer, path: &str, cookie: &str) -> reqwest::Response {
    let csrf = csrf_of(s, cookie).await;
    http().post(s.url(path)).header(COOKIE, cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap()
}

//! HTML building blocks: escaping, the page layout with its navigation, and small widgets.
//! Every dynamic value goes through [`esc`]; pages load only `/ui/app.css` and `/ui/app.js`.

use std::fmt::Write;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a value for a query string.
pub fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Who is signed in, for the navigation bar.
pub struct Nav<'a> {
    pub name: &'a str,
    pub is_admin: bool,
    pub csrf: &'a str,
}

/// A complete page. `nav` is `None` on the sign-in, signed-out and error pages.
pub fn page(title: &str, nav: Option<&Nav>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ferrometa</title>
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">ferrometa</a>
"##,
        title = esc(title)
    );
    if let Some(nav) = nav {
        out.push_str(r#"<nav aria-label="Main"><ul>"#);
        out.push_str(r#"<li><a href="/">Home</a></li><li><a href="/catalog">Catalog</a></li><li><a href="/users">Users</a></li><li><a href="/bots">Bots</a></li>"#);
        if nav.is_admin {
            out.push_str(r#"<li><a href="/security">Security checklist</a></li>"#);
        }
        let _ = write!(
            out,
            r#"<li><a href="/profile" id="profile-link">{name}</a></li></ul></nav>
<form class="signout" method="post" action="/logout"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" id="signout">Sign out</button></form>"#,
            name = esc(nav.name),
            csrf = esc(nav.csrf)
        );
    }
    let _ = write!(out, "</header>\n<main id=\"main\" tabindex=\"-1\">\n<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n", esc(title));
    out
}

pub fn respond(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

/// 303 See Other to a same-origin path or a provider URL.
pub fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

/// A notice box; `kind` is `error`, `ok` or `info`. Errors are announced to screen readers.
pub fn notice(kind: &str, id: &str, text: &str) -> String {
    let role = if kind == "error" { r#" role="alert""# } else { r#" role="status""# };
    format!(r#"<p class="notice {kind}" id="{id}"{role}>{}</p>"#, esc(text))
}

/// A secret shown exactly once, with a copy button (the page is never cached).
pub fn shown_once(id: &str, label: &str, secret: &str) -> String {
    format!(
        r#"<section class="once" aria-labelledby="{id}-label">
<h2 id="{id}-label">{label}</h2>
<p>Copy it now: it is shown only once and cannot be displayed again.</p>
<label for="{id}">Token</label>
<textarea id="{id}" readonly rows="4" spellcheck="false">{secret}</textarea>
<button type="button" data-copy="{id}">Copy to clipboard</button> <span class="copied" aria-live="polite"></span>
</section>"#,
        label = esc(label),
        secret = esc(secret)
    )
}

/// `<select>` of OpenMetadata's token expiry values.
pub fn expiry_select(id: &str, with_unlimited: bool) -> String {
    let mut options = vec![("OneHour", "1 hour"), ("1", "1 day"), ("7", "7 days"), ("30", "30 days"), ("60", "60 days"), ("90", "90 days")];
    if with_unlimited {
        options.push(("Unlimited", "Unlimited (revocable)"));
    }
    let opts: String = options
        .iter()
        .map(|(v, l)| format!(r#"<option value="{v}"{}>{l}</option>"#, if *v == "30" { " selected" } else { "" }))
        .collect();
    format!(r#"<label for="{id}">Expires after</label> <select id="{id}" name="expiry">{opts}</select>"#)
}

/// Epoch ms as a UTC date and time.
pub fn when(ms: i64) -> String {
    let secs = ms / 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_666_768_000), "2026-11-26 04:19 UTC");
        assert_eq!(when(951_782_400_000), "2000-02-29 00:00 UTC", "leap day");
    }
}

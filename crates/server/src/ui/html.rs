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

/// Percent-encodes a name for one path segment (`/roles/{name}`): names may hold `/`, `?`,
/// `#`, spaces and any other character but quotes.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A place the navigation bar and the home page link to.
pub struct Link {
    pub href: &'static str,
    pub label: &'static str,
    /// What the home page's card says about it.
    pub card: &'static str,
    /// Whether the navigation bar lists it (the profile is the viewer's name there).
    pub in_nav: bool,
}

/// Who is signed in, for the navigation bar, and the places they may open.
pub struct Nav<'a> {
    pub name: &'a str,
    pub csrf: &'a str,
    pub links: &'a [&'static Link],
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
        out.push_str(r#"<nav aria-label="Main"><ul><li><a href="/">Home</a></li>"#);
        for link in nav.links.iter().filter(|l| l.in_nav) {
            let _ = write!(out, r#"<li><a href="{}">{}</a></li>"#, link.href, esc(link.label));
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

/// `<table class="list">` with a header row; `rows` is already HTML.
pub fn list_table(id: &str, headers: &[&str], rows: &str) -> String {
    let head: String = headers.iter().map(|h| format!(r#"<th scope="col">{}</th>"#, esc(h))).collect();
    format!(r#"<table class="list" id="{id}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"#)
}

/// `<dl class="facts">` of labels and values that are already HTML.
pub fn facts(id: &str, items: &[(&str, String)]) -> String {
    let rows: String = items.iter().map(|(label, value)| format!("<dt>{}</dt><dd>{value}</dd>", esc(label))).collect();
    format!(r#"<dl class="facts" id="{id}">{rows}</dl>"#)
}

/// Breadcrumbs: links to the listed pages, then the current page's name.
pub fn crumbs(links: &[(&str, &str)], current: &str) -> String {
    let mut parts: Vec<String> = links.iter().map(|(href, text)| format!(r#"<a href="{}">{}</a>"#, esc(href), esc(text))).collect();
    parts.push(format!(r#"<span aria-current="page">{}</span>"#, esc(current)));
    format!(r#"<nav aria-label="Breadcrumb" class="crumbs">{}</nav>"#, parts.join(" › "))
}

/// Links (href, text) separated by commas, or `none` in muted text when there are none.
pub fn link_list(links: &[(String, String)], none: &str) -> String {
    if links.is_empty() {
        return format!(r#"<span class="muted">{}</span>"#, esc(none));
    }
    links.iter().map(|(href, text)| format!(r#"<a href="{}">{}</a>"#, esc(href), esc(text))).collect::<Vec<_>>().join(", ")
}

/// A labelled one-line text input.
pub fn text_input(id: &str, name: &str, label: &str, value: &str, required: bool) -> String {
    let required = if required { " required" } else { "" };
    format!(r#"<label for="{id}">{}</label><input id="{id}" name="{name}" value="{}" maxlength="256"{required}>"#, esc(label), esc(value))
}

/// A labelled text area.
pub fn text_area(id: &str, name: &str, label: &str, value: &str) -> String {
    format!(r#"<label for="{id}">{}</label><textarea id="{id}" name="{name}" rows="3">{}</textarea>"#, esc(label), esc(value))
}

/// A labelled `<select>` of (value, label) options with `selected` chosen.
pub fn select(id: &str, name: &str, label: &str, options: &[(&str, &str)], selected: &str) -> String {
    let opts: String = options
        .iter()
        .map(|(v, l)| format!(r#"<option value="{}"{}>{}</option>"#, esc(v), if *v == selected { " selected" } else { "" }, esc(l)))
        .collect();
    format!(r#"<label for="{id}">{}</label><select id="{id}" name="{name}">{opts}</select>"#, esc(label))
}

/// A group of checkboxes sharing one field name: (value, label) choices, those in `checked`
/// ticked. Ids are numbered (values may be any name).
pub fn checkboxes(id: &str, name: &str, legend: &str, choices: &[(String, String)], checked: &[String]) -> String {
    let boxes: String = choices
        .iter()
        .enumerate()
        .map(|(i, (value, label))| {
            let tick = if checked.contains(value) { " checked" } else { "" };
            format!(r#"<label class="choice" for="{id}-{i}"><input type="checkbox" id="{id}-{i}" name="{name}" value="{}"{tick}> {}</label>"#, esc(value), esc(label))
        })
        .collect();
    format!(r#"<fieldset class="choices" id="{id}"><legend>{}</legend>{boxes}</fieldset>"#, esc(legend))
}

/// A form of one button (and hidden fields) that posts to `action` once the browser confirmed
/// `question`.
pub fn confirmed_button(action: &str, csrf_field: &str, hidden: &[(&str, &str)], id: &str, label: &str, question: &str) -> String {
    let hidden: String = hidden.iter().map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{}">"#, esc(value))).collect();
    format!(
        r#"<form method="post" action="{}" data-confirm="{}">{csrf_field}{hidden}<button type="submit" class="danger" id="{id}">{}</button></form>"#,
        esc(action),
        esc(question),
        esc(label)
    )
}

/// The end of a page, set apart, for an action that cannot be undone.
pub fn danger_zone(content: &str) -> String {
    format!(r#"<section class="danger-zone" aria-label="Cannot be undone">{content}</section>"#)
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
    fn names_become_one_path_segment() {
        assert_eq!(path_segment("DataConsumer"), "DataConsumer");
        assert_eq!(path_segment("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
        assert_eq!(path_segment("é.x"), "%C3%A9.x");
    }

    #[test]
    fn checkboxes_tick_the_checked_values_and_escape_the_rest() {
        let html = checkboxes("p", "policies", "Policies", &[("1".into(), "<One>".into()), ("2".into(), "Two".into())], &["2".into()]);
        assert!(html.contains(r#"id="p-0" name="policies" value="1">"#), "{html}");
        assert!(html.contains(r#"value="2" checked>"#), "{html}");
        assert!(html.contains("&lt;One&gt;") && !html.contains("<One>"), "labels are escaped: {html}");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_666_768_000), "2026-11-26 04:19 UTC");
        assert_eq!(when(951_782_400_000), "2000-02-29 00:00 UTC", "leap day");
    }
}

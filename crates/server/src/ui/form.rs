//! Form bodies as the pages post them (`application/x-www-form-urlencoded`), every field kept
//! in order: a group of checkboxes sends one name many times, which axum's `Form` cannot read
//! into a list.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of a field, or `""` when it was not sent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// Every value of a field, in the order sent, each once.
    pub fn all(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = vec![];
        for (_, v) in self.0.iter().filter(|(k, _)| k == name) {
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
        values
    }

    /// The session's CSRF token the form carried.
    pub fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<FormData, Response> {
        let body = Bytes::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        Ok(FormData::parse(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_all_kept_once_in_order() {
        let form = FormData::parse(b"csrf=t&operations=ViewAll&operations=EditTags&operations=ViewAll&condition=isOwner()+%26%26+noOwner()");
        assert_eq!(form.all("operations"), ["ViewAll", "EditTags"]);
        assert_eq!(form.get("condition"), "isOwner() && noOwner()");
        assert_eq!(form.csrf(), "t");
        assert_eq!(form.get("missing"), "");
        assert!(form.all("missing").is_empty());
    }
}

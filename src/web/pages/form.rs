//! URL-encoded form bodies (repeated keys allowed, for multi-select) and query building.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::PageError;

/// A parsed `application/x-www-form-urlencoded` body.
pub struct Form(Vec<(String, String)>);

/// Most fields a form may have: the largest page form (a jobs page's batch with every job
/// selected) has a few dozen. A body of `a&a&a…` would otherwise cost about 40 bytes of
/// memory per byte sent.
const MAX_FIELDS: usize = 1000;

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
        let mut fields = Vec::new();
        for (k, v) in form_urlencoded::parse(&bytes) {
            if fields.len() == MAX_FIELDS {
                return Err(PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form has too many fields.",
                ));
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form(fields))
    }
}

impl Form {
    /// The first value of `name`, trimmed; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` as sent (passwords keep their spaces).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every field as sent, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required field.
    pub fn require(&self, name: &str) -> Result<&str, PageError> {
        self.get(name).ok_or_else(|| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("The field `{name}` is required."),
            )
        })
    }
}

/// `a=1&b=2`, percent-encoded.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A local redirect target from a `next` field: a path on this site, never `//host` or a URL.
/// Control characters are refused too: browsers drop tabs and newlines from URLs (`/\t/host`
/// is `//host`), and CR/LF cannot go into a `Location` header at all.
pub fn local_target(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_targets() {
        assert_eq!(local_target(Some("/jobs?page=2")), "/jobs?page=2");
        assert_eq!(local_target(Some("//evil.example/")), "/");
        assert_eq!(local_target(Some("https://evil.example/")), "/");
        assert_eq!(local_target(Some("/\\evil.example")), "/");
        assert_eq!(local_target(Some("/\t/evil.example")), "/");
        assert_eq!(local_target(Some("/\r\nSet-Cookie: x=1")), "/");
        assert_eq!(local_target(None), "/");
    }
}

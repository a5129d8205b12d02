//! The published OpenAPI document and its operations, so that tests enumerate the routes from
//! the document (new routes are covered without editing a test) instead of keeping a list.

use reqwest::Method;
use serde_json::Value;

use super::api::header;
use super::server::TestServer;

/// Routes that answer without credentials.
pub const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/health"),
    ("GET", "/api/ready"),
    ("GET", "/api/openapi.json"),
];

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// As documented, e.g. `/api/jobs/{id}/details`.
    pub template: String,
    /// With every path parameter set to 1.
    pub path: String,
}

impl Operation {
    pub fn is_public(&self) -> bool {
        PUBLIC
            .iter()
            .any(|(m, p)| *m == self.method.as_str() && *p == self.template)
    }
}

/// Every operation of an OpenAPI document, in document order.
pub fn operations(doc: &Value) -> Vec<Operation> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (template, item) in paths {
        for (method, _) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let path = template
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            out.push(Operation {
                method,
                template: template.clone(),
                path,
            });
        }
    }
    out
}

/// The published document.
pub async fn document(server: &TestServer) -> Value {
    let r = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("application/json"));
    r.json().await.unwrap()
}

//! The HTTP API's contract: auth, problem documents, shapes, OpenAPI, schema fuzzing.

mod auth;
pub mod errors;
pub mod openapi;
mod schema_fuzz;
pub mod shapes;

//! The HTTP API's contract: auth, problem documents, shapes, OpenAPI, schema fuzzing.

mod auth;
mod errors;
mod openapi;
mod schema_fuzz;
mod shapes;

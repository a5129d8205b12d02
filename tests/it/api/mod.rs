//! The HTTP API's contract: auth, problems, shapes, jobs, library, OpenAPI, schema fuzzing.

mod auth;
mod errors;
mod jobs;
mod library;
mod openapi;
mod schema_fuzz;
mod shapes;

//! Encoding profiles: the API that manages them and the engine that encodes with them.

pub mod api;
mod engine;

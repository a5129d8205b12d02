//! Encoding profiles: the API that manages them and the engine that encodes with them.

mod api;
mod engine;
mod nested;

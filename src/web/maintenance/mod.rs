//! The server's upkeep, shared by the API and the pages: the self-test, a backup restored
//! into the running server, and reading the server's own log. The handlers in `api` and the
//! pages in `pages` are thin over these.

pub mod logs;
pub mod restore;
pub mod selftest;

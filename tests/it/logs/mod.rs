//! Server logs (`<data>/logs/`): the API reads the files back with its level, time and limit
//! filters (`api`, on log files written by the test into an in-process server's data dir);
//! the real binary writes them, rotates them at the configured size and streams new lines
//! (`files`). The logs page's live tail in Chromium is `pages::logs`.
//!
//! Logging is process-wide, so the tests that need lines the server really wrote run the
//! `alchemist` binary (`support::served`), not the in-process test server.

mod api;
mod files;

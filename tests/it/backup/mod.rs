//! Backups: a backup downloaded while jobs and tokens are written is one consistent state and
//! restores with the CLI into a fresh data dir whose server starts and lists the jobs; a
//! foreign or damaged archive is refused and nothing is replaced; automatic backups keep N.

mod daily;
mod older;
mod restore;

//! The probe cache: a probe result per path, valid while the file's size, mtime and inode are
//! unchanged (the engine compares them; the store keeps the entry as it was given).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::codec::{decode, encode};
use super::records::ProbeCacheEntry;
use super::tables::*;
use super::{Result, Store};

impl Store {
    pub fn probe_cache_get(&self, path: &Path) -> Result<Option<ProbeCacheEntry>> {
        let read = self.read()?;
        let t = read.open_table(PROBE_CACHE)?;
        match t.get(path.as_os_str().as_bytes())? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    pub fn probe_cache_put(&self, path: &Path, entry: &ProbeCacheEntry) -> Result<()> {
        self.write(|txn| {
            txn.open_table(PROBE_CACHE)?
                .insert(path.as_os_str().as_bytes(), encode(entry).as_slice())?;
            Ok(())
        })
    }
}

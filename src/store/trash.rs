//! The trash table: one record per replaced original, keyed by job id.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::records::TrashEntry;
use super::tables::TRASH;
use super::{Result, Store};

impl Store {
    pub fn trash_put(&self, entry: &TrashEntry) -> Result<()> {
        self.write(|txn| {
            txn.open_table(TRASH)?
                .insert(entry.job_id, encode(entry).as_slice())?;
            Ok(())
        })
    }

    pub fn trash_get(&self, job_id: u64) -> Result<Option<TrashEntry>> {
        let read = self.read()?;
        let t = read.open_table(TRASH)?;
        match t.get(job_id)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Every entry, oldest job first.
    pub fn trash_list(&self) -> Result<Vec<TrashEntry>> {
        let read = self.read()?;
        let t = read.open_table(TRASH)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}

//! The segments table: which folder holds the finished pieces of each segmented encode, keyed
//! by job id. Written before the folder is made and removed after it is gone, so boot recovery
//! sees every folder a crash can leave (`engine::dispatch::recover`).

use redb::{ReadableTable, TableError};

use super::codec::{decode, encode};
use super::records::SegmentsEntry;
use super::tables::SEGMENTS;
use super::{Result, Store};

impl Store {
    pub fn segments_put(&self, entry: &SegmentsEntry) -> Result<()> {
        self.write(|txn| {
            txn.open_table(SEGMENTS)?
                .insert(entry.job_id, encode(entry).as_slice())?;
            Ok(())
        })
    }

    pub fn segments_remove(&self, job_id: u64) -> Result<()> {
        self.write(|txn| {
            txn.open_table(SEGMENTS)?.remove(job_id)?;
            Ok(())
        })
    }

    pub fn segments_get(&self, job_id: u64) -> Result<Option<SegmentsEntry>> {
        let read = self.read()?;
        let t = match read.open_table(SEGMENTS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match t.get(job_id)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Every entry, by job id.
    pub fn segments_list(&self) -> Result<Vec<SegmentsEntry>> {
        let read = self.read()?;
        let t = match read.open_table(SEGMENTS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}

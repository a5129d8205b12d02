//! Known devices: browsers that logged in before, by the SHA-256 of their device cookie.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::records::Device;
use super::tables::DEVICES;
use super::{Result, Store};
use crate::model::now_ms;

/// Devices kept per user; the oldest are forgotten first.
pub const MAX_DEVICES_PER_USER: usize = 20;

impl Store {
    pub fn device(&self, token_hash: &[u8]) -> Result<Option<Device>> {
        let read = self.read()?;
        let t = read.open_table(DEVICES)?;
        match t.get(token_hash)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Record a good login from a device (new or known): failures reset, and the user's
    /// oldest devices beyond [`MAX_DEVICES_PER_USER`] are forgotten.
    pub fn device_logged_in(&self, token_hash: &[u8], username: &str) -> Result<()> {
        self.write(|txn| {
            let mut t = txn.open_table(DEVICES)?;
            let now = now_ms();
            let created_at = match t.get(token_hash)? {
                Some(v) => decode::<Device>(v.value())?.created_at,
                None => now,
            };
            let device = Device {
                username: username.to_string(),
                created_at,
                last_login_at: now,
                failures: 0,
            };
            t.insert(token_hash, encode(&device).as_slice())?;
            let mut mine: Vec<(Vec<u8>, i64)> = Vec::new();
            for row in t.iter()? {
                let (k, v) = row?;
                let d: Device = decode(v.value())?;
                if d.username == username {
                    mine.push((k.value().to_vec(), d.last_login_at));
                }
            }
            if mine.len() > MAX_DEVICES_PER_USER {
                mine.sort_by_key(|(_, at)| *at);
                for (k, _) in &mine[..mine.len() - MAX_DEVICES_PER_USER] {
                    t.remove(k.as_slice())?;
                }
            }
            Ok(())
        })
    }

    /// Count a wrong password sent with a device's cookie; at `limit` the device is forgotten.
    /// Returns whether it is still known.
    pub fn device_failed(&self, token_hash: &[u8], limit: u32) -> Result<bool> {
        self.write(|txn| {
            let mut t = txn.open_table(DEVICES)?;
            let Some(mut device) = t
                .get(token_hash)?
                .map(|v| decode::<Device>(v.value()))
                .transpose()?
            else {
                return Ok(false);
            };
            device.failures += 1;
            if device.failures >= limit {
                t.remove(token_hash)?;
                return Ok(false);
            }
            t.insert(token_hash, encode(&device).as_slice())?;
            Ok(true)
        })
    }
}

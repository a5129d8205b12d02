//! Settings: the engine's persisted run state, the detected hardware capabilities kept between
//! starts, and a generic key → JSON table for other settings.

use super::codec::{decode, encode};
use super::records::EngineState;
use super::tables::*;
use super::{Result, Store, StoreError};

/// Settings key of the detected capabilities.
const CAPABILITIES_KEY: &str = "hw.capabilities";

impl Store {
    pub fn engine_state(&self) -> Result<EngineState> {
        let read = self.read()?;
        let t = read.open_table(META)?;
        match t.get("engine")? {
            Some(v) => decode(v.value()),
            None => Ok(EngineState::default()),
        }
    }

    pub fn set_engine_state(&self, state: &EngineState) -> Result<()> {
        self.write(|txn| {
            txn.open_table(META)?
                .insert("engine", encode(state).as_slice())?;
            Ok(())
        })
    }

    pub fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let read = self.read()?;
        let t = read.open_table(SETTINGS)?;
        match t.get(key)? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    pub fn set_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.write(|txn| {
            txn.open_table(SETTINGS)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
    }

    /// The hardware detection kept by the last start (`hw::Record` as JSON; the store does
    /// not interpret it).
    pub fn capability_record(&self) -> Result<Option<serde_json::Value>> {
        self.setting(CAPABILITIES_KEY)
    }

    pub fn set_capability_record(&self, record: &serde_json::Value) -> Result<()> {
        self.set_setting(CAPABILITIES_KEY, record)
    }
}

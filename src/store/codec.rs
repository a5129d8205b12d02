//! Versioned values. Every stored value is one version byte followed by JSON. JSON keeps records
//! self-describing, so fields can be added with `#[serde(default)]` without a new version; a
//! change that cannot be expressed that way bumps `VERSION` and adds an arm to `upgrade`, so a
//! newer release always reads an older file. Paths are stored losslessly (non-UTF-8 names too).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A record type stored in redb.
pub trait Versioned: Serialize + DeserializeOwned {
    /// Current layout version of this record.
    const VERSION: u8 = 1;
    /// Turn an older layout (already parsed as JSON) into the current one.
    fn upgrade(version: u8, value: serde_json::Value) -> Result<Self, StoreError> {
        let _ = value;
        Err(StoreError::Corrupt(format!(
            "{}: no upgrade from version {version}",
            std::any::type_name::<Self>()
        )))
    }
}

pub fn encode<T: Versioned>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(T::VERSION);
    // Serializing our own plain structs to a Vec cannot fail.
    serde_json::to_writer(&mut out, value).expect("record serializes");
    out
}

pub fn decode<T: Versioned>(bytes: &[u8]) -> Result<T, StoreError> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| StoreError::Corrupt("empty record".into()))?;
    if version == T::VERSION {
        return serde_json::from_slice(body).map_err(|e| StoreError::Corrupt(e.to_string()));
    }
    if version > T::VERSION {
        return Err(StoreError::Corrupt(format!(
            "{} version {version} is newer than this release understands",
            std::any::type_name::<T>()
        )));
    }
    let value = serde_json::from_slice(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    T::upgrade(version, value)
}

/// Serde helpers for paths: a UTF-8 path is a JSON string, any other is an array of bytes.
pub mod path_bytes {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(text) => Repr::Text(text.to_string()),
            None => Repr::Bytes(path.as_os_str().as_bytes().to_vec()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(t) => PathBuf::from(t),
            Repr::Bytes(b) => PathBuf::from(OsString::from_vec(b)),
        })
    }

    /// Same, for `Option<PathBuf>`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
            match path {
                Some(p) => super::serialize(p, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
            Ok(match Option::<Repr>::deserialize(d)? {
                None => None,
                Some(Repr::Text(t)) => Some(PathBuf::from(t)),
                Some(Repr::Bytes(b)) => Some(PathBuf::from(OsString::from_vec(b))),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V2 {
        name: String,
        #[serde(with = "path_bytes")]
        path: PathBuf,
    }
    impl Versioned for V2 {
        const VERSION: u8 = 2;
        fn upgrade(version: u8, value: serde_json::Value) -> Result<Self, StoreError> {
            assert_eq!(version, 1);
            Ok(V2 {
                name: value["n"].as_str().unwrap_or_default().to_string(),
                path: PathBuf::from("/"),
            })
        }
    }

    #[test]
    fn round_trip_with_non_utf8_path() {
        let v = V2 {
            name: "x".into(),
            path: PathBuf::from(OsStr::from_bytes(b"/m/\xff\xfe.mkv")),
        };
        assert_eq!(decode::<V2>(&encode(&v)).unwrap(), v);
    }

    #[test]
    fn older_versions_upgrade_and_newer_are_refused() {
        let mut old = vec![1u8];
        old.extend_from_slice(br#"{"n":"legacy"}"#);
        assert_eq!(decode::<V2>(&old).unwrap().name, "legacy");
        let mut newer = vec![9u8];
        newer.extend_from_slice(b"{}");
        assert!(decode::<V2>(&newer).is_err());
        assert!(decode::<V2>(&[]).is_err());
    }
}

//! A profile as the service lists it ([`ProfileEntry`]), why an operation on one is refused
//! ([`ProfileError`]), and a request's fields made into a checked profile.

use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::{ProfileFields, ProfileSource};
use super::profile::{EncodeSettings, Profile};
use crate::model::rfc3339;
use crate::store::{StoreError, StoredProfile};

/// Why a profile operation was refused; mapped to HTTP by `web`.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile `{0}` does not exist")]
    NotFound(String),
    #[error("a profile named `{0}` exists already")]
    Exists(String),
    #[error("profile `{0}` is built in and cannot be changed; create a custom profile from it")]
    ReadOnly(String),
    #[error("{0}")]
    InUse(String),
    #[error("{0}")]
    Invalid(String),
    /// A field's value is refused; the field is named in the problem document.
    #[error("{1}")]
    InvalidField(&'static str, String),
    #[error("folder {0} does not exist")]
    FolderNotFound(u64),
    #[error("profile `{0}` does not exist; a folder can only use an existing profile")]
    UnknownForFolder(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A profile as listed: where it comes from, whether it can change, and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProfileEntry {
    pub name: String,
    pub source: ProfileSource,
    /// A preset shipped with the program.
    pub builtin: bool,
    /// Only custom profiles can be changed or deleted through the API.
    pub read_only: bool,
    #[serde(flatten)]
    pub profile: Profile,
    /// RFC 3339; custom profiles only.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl ProfileEntry {
    pub(super) fn reserved(name: &str, source: ProfileSource, profile: Profile) -> ProfileEntry {
        ProfileEntry {
            name: name.to_string(),
            source,
            builtin: source == ProfileSource::Builtin,
            read_only: true,
            profile,
            created_at: None,
            updated_at: None,
        }
    }

    pub(super) fn stored(record: StoredProfile) -> Result<ProfileEntry, ProfileError> {
        let profile = serde_json::from_value(record.profile).map_err(|e| {
            StoreError::Corrupt(format!("profile `{}` is unreadable: {e}", record.name))
        })?;
        Ok(ProfileEntry {
            name: record.name,
            source: ProfileSource::Custom,
            builtin: false,
            read_only: false,
            profile,
            created_at: Some(rfc3339(record.created_at)),
            updated_at: Some(rfc3339(record.updated_at)),
        })
    }
}

/// A profile from a request's fields with nothing to start from: the encoder is required and
/// every field not given takes its default.
pub(super) fn blank(fields: &ProfileFields) -> Result<Profile, ProfileError> {
    let encoder = fields.encoder.ok_or_else(|| {
        ProfileError::Invalid("`encoder` is required (or give `base` to start from)".into())
    })?;
    Ok(fields.apply(Profile::from_settings(&EncodeSettings {
        encoder,
        crf: None,
        preset: None,
        threads: 0,
    })))
}

pub(super) fn checked(profile: Profile) -> Result<serde_json::Value, ProfileError> {
    profile
        .validate()
        .map_err(|e| ProfileError::InvalidField(e.field(), e.to_string()))?;
    serde_json::to_value(&profile).map_err(|e| ProfileError::Invalid(e.to_string()))
}

//! Encoding profiles, in one place: what a [`Profile`] is and the encoder [`Capabilities`] the
//! planner may rely on (`profile`, pure), the catalogue's rules (names, presets, the fields an
//! edit may change, `catalog`, pure), and the [`Profiles`] service that lists, stores and
//! resolves them (`service`: the configuration's `default`, the built-in presets and custom
//! profiles in the store, and which one a library folder's job runs with). The planner reads
//! the pure parts; the engine and the web layer use the service.

mod catalog;
mod entry;
mod output;
mod profile;
mod quality;
mod service;
mod streams;

pub use catalog::{
    DEFAULT_PROFILE, InvalidProfile, MAX_BPP_FACTOR, MAX_MIN_SAVING_PERCENT, MAX_NAME_LEN,
    ProfileFields, ProfileSource, check_name,
};
pub use entry::{ProfileEntry, ProfileError};
pub(crate) use output::resolved;
pub use output::{DEFAULT_OUTPUT_SUFFIX, HdrMode, InvalidOutput, MAX_SUFFIX_LEN, OutputLocation};
pub use profile::{
    Capabilities, ContainerChoice, DEFAULT_MIN_SAVING_PERCENT, EncodeSettings, InvalidSettings,
    OriginalPolicy, Profile, Tonemapper, default_crf, default_preset,
};
pub use quality::{InvalidTarget, MetricChoice, QualityTarget, value_range};
pub use service::{Profiles, check_folder_against_outputs, folder_ref, most_specific, own_outputs};
pub use streams::{
    AudioCodecPolicy, ImageSubtitles, InvalidStreamRules, MAX_LANGUAGES, StreamRules,
    canonical_language, language_listed,
};

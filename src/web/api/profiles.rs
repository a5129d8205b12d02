//! Encoding profiles: list and read every profile (`default` from the configuration, the
//! built-in presets, custom ones), create custom profiles from a base, replace and delete them.
//! Built-in and `default` are read-only (409 `PROFILE_READ_ONLY`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::OkBody;
use crate::model::{CpuEncoder, OriginalPolicy};
use crate::profiles::{
    AudioCodecPolicy, ContainerChoice, ImageSubtitles, ProfileEntry, ProfileFields,
};
use crate::web::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ApiJson, ApiPath};

/// `POST /api/profiles`: a name, optionally a profile to start from, and fields over it. The
/// fields repeat `ProfileFields` rather than `#[serde(flatten)]` it: serde cannot combine
/// flatten with `deny_unknown_fields`, and a misspelt field must be a 400, not ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    /// `^[a-z0-9][a-z0-9_-]{0,63}$`, not `default` nor a preset's name.
    pub name: String,
    /// Any existing profile to copy; without it `encoder` is required and other fields take
    /// their defaults.
    pub base: Option<String>,
    pub encoder: Option<CpuEncoder>,
    pub crf: Option<u8>,
    pub preset: Option<String>,
    pub threads: Option<u32>,
    pub container: Option<ContainerChoice>,
    pub ten_bit: Option<bool>,
    pub bpp_factor: Option<f64>,
    pub min_file_size: Option<u64>,
    pub min_saving_percent: Option<u8>,
    pub original: Option<OriginalPolicy>,
    /// ISO 639-2 codes of audio languages to keep; empty keeps all.
    pub audio_languages: Option<Vec<String>>,
    /// ISO 639-2 codes of subtitle languages to keep; empty keeps all.
    pub subtitle_languages: Option<Vec<String>>,
    pub drop_commentary: Option<bool>,
    pub image_subtitles: Option<ImageSubtitles>,
    pub add_stereo: Option<bool>,
    pub audio_codec: Option<AudioCodecPolicy>,
    /// A score to reach instead of `crf` (`null`: use `crf`).
    pub quality_target: Option<crate::profiles::QualityTarget>,
    /// `preserve` (default) keeps HDR; `sdr` tonemaps HDR sources to SDR.
    pub hdr: Option<crate::profiles::HdrMode>,
    /// Absolute folder outside every library folder for the outputs (mirroring the library
    /// folder's layout); `null` or absent: beside the originals (or the base's).
    #[schema(value_type = Option<String>)]
    pub output_root: Option<std::path::PathBuf>,
    /// `<stem>.<suffix>.<ext>`; default `alchemist`; empty only with an `output_root`.
    pub output_suffix: Option<String>,
}

impl CreateProfile {
    fn fields(&self) -> ProfileFields {
        ProfileFields {
            encoder: self.encoder,
            crf: self.crf,
            preset: self.preset.clone(),
            threads: self.threads,
            container: self.container,
            ten_bit: self.ten_bit,
            bpp_factor: self.bpp_factor,
            min_file_size: self.min_file_size,
            min_saving_percent: self.min_saving_percent,
            original: self.original,
            audio_languages: self.audio_languages.clone(),
            subtitle_languages: self.subtitle_languages.clone(),
            drop_commentary: self.drop_commentary,
            image_subtitles: self.image_subtitles,
            add_stereo: self.add_stereo,
            audio_codec: self.audio_codec,
            quality_target: self.quality_target.map(Some),
            hdr: self.hdr,
            output_root: self.output_root.clone().map(Some),
            output_suffix: self.output_suffix.clone(),
        }
    }
}

const PROBLEM: &str = "application/problem+json";

/// Every profile: `default`, the presets, then custom ones.
#[utoipa::path(get, path = "/profiles", tag = "profiles", operation_id = "list_profiles",
    responses((status = 200, body = Vec<ProfileEntry>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ProfileEntry>>> {
    Ok(Json(state.engine.profiles.list().await?))
}

/// Create a custom profile.
#[utoipa::path(post, path = "/profiles", tag = "profiles", operation_id = "create_profile", request_body = CreateProfile,
    responses((status = 201, body = ProfileEntry),
              (status = 400, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 409, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateProfile>,
) -> ApiResult<(StatusCode, Json<ProfileEntry>)> {
    let fields = body.fields();
    let entry = state
        .engine
        .profiles
        .create(body.name, body.base, fields)
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// One profile.
#[utoipa::path(get, path = "/profiles/{name}", tag = "profiles", operation_id = "get_profile",
    params(("name" = String, Path, description = "Profile name")),
    responses((status = 200, body = ProfileEntry),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProfileEntry>> {
    Ok(Json(state.engine.profiles.get(&name).await?))
}

/// Replace the fields of a custom profile: `encoder` is required, fields not given take their
/// defaults.
#[utoipa::path(put, path = "/profiles/{name}", tag = "profiles", operation_id = "replace_profile", request_body = ProfileFields,
    params(("name" = String, Path, description = "Profile name")),
    responses((status = 200, body = ProfileEntry),
              (status = 400, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 409, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn replace(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(fields): ApiJson<ProfileFields>,
) -> ApiResult<Json<ProfileEntry>> {
    Ok(Json(state.engine.profiles.replace(name, fields).await?))
}

/// Delete a custom profile no folder uses (409 `PROFILE_IN_USE` otherwise).
#[utoipa::path(delete, path = "/profiles/{name}", tag = "profiles", operation_id = "delete_profile",
    params(("name" = String, Path, description = "Profile name")),
    responses((status = 200, body = OkBody),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 409, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<OkBody>> {
    state.engine.profiles.delete(name).await?;
    Ok(Json(OkBody::OK))
}

//! The library page's profiles: custom profiles created from a base, edited (every field on
//! the form) and deleted after a confirmation. Refusals show the library page again with the
//! reason beside the profiles.

use axum::extract::State;
use axum::response::Response;

use super::PageError;
use super::confirm::{self, Ask};
use super::form::Form;
use super::library::{Retry, done, refused};
use crate::profiles::{ProfileError, ProfileFields};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// Create a custom profile from a base with the fields given over it.
pub async fn create(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let name = form.get("name").unwrap_or("").to_string();
    let created = match fields(&form) {
        Ok(fields) => {
            let base = form.get("base").map(str::to_string);
            state
                .engine
                .profiles
                .create(name.clone(), base, fields)
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(p) => Ok(done(
            &state,
            format!("Profile {} created. Choose it for a folder above.", p.name),
        )),
        Err(e) => {
            refused(&state, e, |msg| Retry {
                profile_error: Some(msg),
                profile_name: name,
                ..Retry::default()
            })
            .await
        }
    }
}

/// Replace every field of a custom profile with the edit form's.
pub async fn edit(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    form: Form,
) -> Result<Response, PageError> {
    let edited = match fields(&form) {
        Ok(fields) => state
            .engine
            .profiles
            .replace(name.clone(), fields)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match edited {
        Ok(p) => Ok(done(
            &state,
            format!(
                "Profile {} saved; jobs that start from now on use it.",
                p.name
            ),
        )),
        Err(e) => {
            refused(&state, e, |msg| Retry {
                profile_error: Some(msg),
                editing: Some(name),
                ..Retry::default()
            })
            .await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    form: Form,
) -> Result<Response, PageError> {
    // What cannot be deleted is refused before asking (the store checks again).
    let users: Vec<String> = state
        .engine
        .folders
        .list()
        .await?
        .into_iter()
        .filter(|f| f.profile.as_deref() == Some(name.as_str()))
        .map(|f| f.path)
        .collect();
    let refusal = match state.engine.profiles.get(&name).await {
        Ok(p) if p.read_only => Some(ProfileError::ReadOnly(name.clone())),
        Ok(_) if !users.is_empty() => Some(ProfileError::InUse(format!(
            "profile `{name}` is used by {}; choose another profile for them first",
            users.join(", ")
        ))),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    if let Some(e) = refusal {
        return refused(&state, e.into(), |msg| Retry {
            profile_error: Some(msg),
            ..Retry::default()
        })
        .await;
    }
    if !confirm::confirmed(&form) {
        let ask = Ask {
            title: "Delete this profile?",
            detail: format!(
                "Profile {name} will be gone. Folders cannot use it any more; jobs that \
                 used it keep their results."
            ),
            button: "Delete profile",
            danger: true,
            cancel: "/library",
        };
        let action = format!("/library/profiles/{name}/delete");
        return confirm::ask(&state, "library", &action, &form, ask);
    }
    match state.engine.profiles.delete(name.clone()).await {
        Ok(()) => Ok(done(&state, format!("Profile {name} deleted."))),
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                profile_error: Some(msg),
                ..Retry::default()
            })
            .await
        }
    }
}

/// The form's fields; an empty one is not given (creation keeps the base's value).
fn fields(form: &Form) -> Result<ProfileFields, ApiError> {
    fn parse<T: serde::de::DeserializeOwned>(
        form: &Form,
        name: &str,
        json: impl Fn(&str) -> serde_json::Value,
    ) -> Result<Option<T>, ApiError> {
        form.get(name)
            .map(|v| {
                serde_json::from_value(json(v)).map_err(|_| {
                    ApiError::bad_request("PROFILE_INVALID", format!("`{v}` is not a valid {name}"))
                })
            })
            .transpose()
    }
    let text = |v: &str| serde_json::Value::String(v.to_string());
    let number = |v: &str| {
        v.parse::<u64>()
            .map_or(serde_json::Value::Null, serde_json::Value::from)
    };
    let decimal = |v: &str| {
        v.parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(serde_json::Value::Number))
            .unwrap_or(serde_json::Value::Null)
    };
    let yes_no = |v: &str| match v {
        "yes" => serde_json::Value::Bool(true),
        "no" => serde_json::Value::Bool(false),
        _ => serde_json::Value::Null,
    };
    // The page asks for the smallest file in MiB.
    let min_file_size = parse::<f64>(form, "min_file_size_mib", decimal)?
        .filter(|mib| mib.is_finite() && *mib >= 0.0)
        .map(|mib| (mib * 1024.0 * 1024.0).round() as u64);
    if form.get("min_file_size_mib").is_some() && min_file_size.is_none() {
        return Err(ApiError::bad_request(
            "PROFILE_INVALID",
            "the smallest file size must be a number of MiB, 0 or more",
        ));
    }
    Ok(ProfileFields {
        encoder: parse(form, "encoder", text)?,
        crf: parse(form, "crf", number)?,
        preset: parse(form, "preset", text)?,
        threads: parse(form, "threads", number)?,
        container: parse(form, "container", text)?,
        ten_bit: parse(form, "ten_bit", yes_no)?,
        bpp_factor: parse(form, "bpp_factor", decimal)?,
        min_file_size,
        min_saving_percent: parse(form, "min_saving_percent", number)?,
        original: parse(form, "original", text)?,
        audio_languages: form.get("audio_languages").map(languages),
        subtitle_languages: form.get("subtitle_languages").map(languages),
        drop_commentary: parse(form, "drop_commentary", yes_no)?,
        image_subtitles: parse(form, "image_subtitles", text)?,
        add_stereo: parse(form, "add_stereo", yes_no)?,
        audio_codec: parse(form, "audio_codec", text)?,
        quality_target: quality_target(form)?,
        hdr: parse(form, "hdr", text)?,
        // Empty: beside the originals on the edit form (fields start from the defaults),
        // the base's on the create form.
        output_root: form
            .get("output_root")
            .map(|v| Some(std::path::PathBuf::from(v.trim()))),
        output_suffix: form.get("output_suffix").map(|v| v.trim().to_string()),
    })
}

/// The form's `quality_metric` ("none" clears the target, empty keeps the base's) and
/// `quality_value`.
fn quality_target(form: &Form) -> Result<Option<Option<crate::profiles::QualityTarget>>, ApiError> {
    let metric = form.get("quality_metric").map(|m| m.trim());
    let value = form.get("quality_value").map(|v| v.trim()).unwrap_or("");
    match metric {
        None | Some("") => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(m) => {
            let target = serde_json::from_value(serde_json::json!({
                "metric": m,
                "value": value.parse::<f64>().ok(),
            }))
            .map_err(|_| {
                ApiError::bad_request(
                    "PROFILE_INVALID",
                    "the quality target needs a metric (auto, vmaf, xpsnr, ssim) and a number",
                )
            })?;
            Ok(Some(Some(target)))
        }
    }
}

/// "eng, jpn" or "eng jpn" → the codes; validation names a malformed one.
fn languages(v: &str) -> Vec<String> {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

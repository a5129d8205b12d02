//! `GET /api/system/backup`: a consistent backup of the running server (store snapshot and
//! config file in a tar with a manifest, see `crate::backup`), streamed from an unlinked temp
//! file in the data directory in fixed-size chunks, so memory stays bounded whatever the store
//! size and nothing is left behind when the download is cut off.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::FullAccess;

/// Bytes read from the archive per body chunk.
const CHUNK: usize = 64 * 1024;

/// Download a backup: a tar holding `manifest.json` (format version, product version, time,
/// tables with row counts), `alchemist.redb` (the store as of one moment) and, when the
/// server has one, `alchemist.toml`. Restore it with `alchemist restore`.
#[utoipa::path(get, path = "/system/backup", tag = "system",
    responses(
        (status = 200, description = "The backup archive", content_type = "application/x-tar", body = Vec<u8>),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 500, description = "The backup could not be made", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn download(_access: FullAccess, State(state): State<AppState>) -> ApiResult<Response> {
    let store = state.store.clone();
    let config = state.config_file.clone();
    let data_dir = store
        .path()
        .parent()
        .map(|p| p.to_path_buf())
        .ok_or_else(|| ApiError::internal("the store has no data directory"))?;
    let (file, _manifest) = tokio::task::spawn_blocking(move || {
        crate::backup::archive_to_temp(&store, config.as_deref(), &data_dir)
    })
    .await
    .map_err(ApiError::internal)??;
    let len = file.metadata().map(|m| m.len()).ok();
    let body = stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf);
            (
                file,
                n.map(|n| {
                    buf.truncate(n);
                    buf
                }),
            )
        })
        .await;
        match read {
            Ok((_, Ok(buf))) if buf.is_empty() => None,
            Ok((file, Ok(buf))) => Some((Ok(Bytes::from(buf)), Some(file))),
            Ok((_, Err(e))) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let name = crate::backup::file_name(crate::model::now_ms());
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(response)
}

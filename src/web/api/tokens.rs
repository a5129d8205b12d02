//! API tokens: list, create (the plaintext is returned once), revoke. Full access only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OkBody;
use crate::model::rfc3339;
use crate::store::{AccessLevel, ApiToken};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath, FullAccess};

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: u64,
    pub name: String,
    pub access_level: AccessLevel,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            access_level: t.access_level,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    access_level: AccessLevel,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    token: TokenView,
    /// Shown only in this response.
    plaintext_token: String,
}

/// List API tokens, newest first.
#[utoipa::path(get, path = "/settings/api-tokens", tag = "auth", operation_id = "list_api_tokens",
    responses((status = 200, body = Vec<TokenView>),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, _: FullAccess) -> ApiResult<Json<Vec<TokenView>>> {
    let tokens = state.store.call(|s| s.list_tokens()).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Create an API token.
#[utoipa::path(post, path = "/settings/api-tokens", tag = "auth", operation_id = "create_api_token", request_body = CreateToken,
    responses((status = 201, body = CreatedToken),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let auth = state.auth.clone();
    let (token, plaintext) =
        tokio::task::spawn_blocking(move || auth.create_token(&body.name, body.access_level))
            .await
            .map_err(ApiError::internal)??;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token.into(),
            plaintext_token: plaintext,
        }),
    ))
}

/// Revoke a token; it stops working at once.
#[utoipa::path(delete, path = "/settings/api-tokens/{id}", tag = "auth", operation_id = "revoke_api_token",
    params(("id" = u64, Path, description = "Token id")),
    responses((status = 200, body = OkBody),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<OkBody>> {
    revoke_token(&state, id).await?;
    Ok(Json(OkBody::OK))
}

/// Revoke a token; shared by the API and the tokens page.
pub async fn revoke_token(state: &AppState, id: u64) -> ApiResult<()> {
    state
        .store
        .call(move |s| s.revoke_token(id))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => {
                ApiError::not_found("API_TOKEN_NOT_FOUND", format!("Token {id} does not exist."))
            }
            other => other.into(),
        })?;
    // Event streams opened with the token end now, as the contract says it stops working.
    state.auth.revoked();
    Ok(())
}

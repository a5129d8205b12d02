//! API tokens: list, create (the plaintext is returned once), revoke. Full access only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OkBody;
use crate::auth::TokenView;
use crate::store::AccessLevel;
use crate::web::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ApiJson, ApiPath, FullAccess};

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
    Ok(Json(state.auth.tokens().await?))
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
    let (token, plaintext) = state
        .auth
        .create_token(&body.name, body.access_level)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
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
    state.auth.revoke_token(id).await?;
    Ok(Json(OkBody::OK))
}

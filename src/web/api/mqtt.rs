//! Home Assistant over MQTT: `GET/PUT /api/settings/mqtt`. The password is never returned,
//! only masked; a refused setting is a `VALIDATION_FAILED` problem whose `field` names it. A
//! saved setting takes effect at once (the MQTT worker reconnects). Any caller may read it;
//! changing it needs full access.

use axum::Json;
use axum::extract::State;

use crate::mqtt::settings::{self, MqttError, MqttSettingsBody};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, FullAccess};

impl From<MqttError> for ApiError {
    fn from(e: MqttError) -> Self {
        match e {
            MqttError::Invalid { field, message } => {
                ApiError::bad_request("VALIDATION_FAILED", format!("`{field}` {message}."))
                    .with("field", serde_json::Value::String(field.into()))
            }
            MqttError::Store(e) => e.into(),
        }
    }
}

/// The MQTT broker, credentials (password masked) and discovery prefix.
#[utoipa::path(get, path = "/settings/mqtt", tag = "system", operation_id = "get_mqtt",
    responses((status = 200, body = MqttSettingsBody)))]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<MqttSettingsBody>> {
    let s = state.store.call(settings::load).await?;
    Ok(Json(s.view()))
}

/// Replace the MQTT settings. `password`: null or `"********"` keeps the stored one, `""`
/// removes it. The worker reconnects with the new settings at once.
#[utoipa::path(put, path = "/settings/mqtt", tag = "system", operation_id = "put_mqtt",
    request_body = MqttSettingsBody,
    responses((status = 200, body = MqttSettingsBody),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<MqttSettingsBody>,
) -> ApiResult<Json<MqttSettingsBody>> {
    Ok(Json(
        settings::save(&state.store, state.engine.events(), body).await?,
    ))
}

//! REST under `/api/v1/me/calendar`: a person follows their own calendar (its ICS address),
//! sees how reading it goes, and stops ([`crate::app::calendars`]).

use crate::app::App;
use crate::error::AppError;
use crate::extract::{Body, Device};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use protocol::rest;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new().routes(routes!(calendar, set_calendar, delete_calendar))
}

#[utoipa::path(get, path = "/me/calendar", tag = "me", security(("device" = [])), responses((status = 200, description = "the calendar followed (never its secret address) and how reading it goes", body = rest::CalendarState), (status = 404, description = "no calendar", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn calendar(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::CalendarState>, AppError> {
    Ok(Json(app.my_calendar(&d.user.id).await?))
}

#[utoipa::path(put, path = "/me/calendar", tag = "me", security(("device" = [])), request_body = rest::CalendarSource, responses((status = 200, description = "followed from now on (read at once); replaces the calendar there was", body = rest::CalendarState), (status = 409, description = "the server keeps no credentials: its administrator sets [secrets] key", body = rest::ErrorBody), (status = 422, description = "not an https (or webcal) address, or a private network", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_calendar(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<rest::CalendarSource>,
) -> Result<Json<rest::CalendarState>, AppError> {
    Ok(Json(app.set_my_calendar(&d.user, body).await?))
}

#[utoipa::path(delete, path = "/me/calendar", tag = "me", security(("device" = [])), responses((status = 204, description = "no longer followed: its meetings are gone at once"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn delete_calendar(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<StatusCode, AppError> {
    app.delete_my_calendar(&d.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

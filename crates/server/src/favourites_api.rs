//! REST for a person's favourites and "tell me when available": `GET /me/favourites`,
//! `PUT / DELETE /me/favourites/{user}` (pin, unpin), `PUT / DELETE /me/alerts/{user}` (ask
//! once to be told when they become Available, or take it back). Another organisation's people
//! are not found.

use crate::app::App;
use crate::error::AppError;
use crate::extract::Device;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use protocol::rest;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(favourites))
        .routes(routes!(pin, unpin))
        .routes(routes!(wait_for, stop_waiting))
}

#[utoipa::path(get, path = "/me/favourites", tag = "me", security(("device" = [])), responses((status = 200, description = "whom the person pinned, as their panel shows them, and whom they wait to be told is available", body = rest::Favourites), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn favourites(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::Favourites>, AppError> {
    Ok(Json(app.favourites(&d.user).await?))
}

#[utoipa::path(put, path = "/me/favourites/{user}", tag = "me", security(("device" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "pinned: they are in the person's panel and team snapshot, live"), (status = 409, description = "200 favourites already", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn pin(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.set_favourite(&d.user, &user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/me/favourites/{user}", tag = "me", security(("device" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "unpinned"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn unpin(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.set_favourite(&d.user, &user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/me/alerts/{user}", tag = "me", security(("device" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "asked: a notification comes when they become Available, then the request is gone"), (status = 409, description = "they are Available now", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn wait_for(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.set_alert(&d.user, &user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/me/alerts/{user}", tag = "me", security(("device" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "no longer waiting"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn stop_waiting(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.set_alert(&d.user, &user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

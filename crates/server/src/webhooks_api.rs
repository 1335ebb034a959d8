//! REST under `/api/v1/admin/webhooks`: an organisation's administrators register, change and
//! remove outgoing webhooks, read each one's delivery log and send it a test
//! ([`crate::app::webhooks`]).

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::extract::{Admin, Body, Params};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use protocol::rest;
use serde::Deserialize;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(webhooks, create_webhook))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(deliveries))
        .routes(routes!(ping))
}

fn actor(a: &Admin) -> Actor {
    Actor::person(&a.0.user)
}

/// `GET /admin/webhooks/{id}/deliveries?limit=`.
#[derive(utoipa::IntoParams, Debug, Default, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// 1 to 500; 100 when absent.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/admin/webhooks", tag = "admin", security(("admin" = [])), responses((status = 200, description = "the organisation's webhooks (never their secrets)", body = [rest::Webhook]), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn webhooks(State(app): State<Arc<App>>, a: Admin) -> Json<Vec<rest::Webhook>> {
    Json(app.webhooks_of(&a.0.user.org))
}

#[utoipa::path(post, path = "/admin/webhooks", tag = "admin", security(("admin" = [])), request_body = rest::WebhookCreate, responses((status = 201, description = "the new webhook and the secret its deliveries are signed with, shown once", body = rest::WebhookCreated), (status = 422, description = "not an https address, a private network the server does not allow, or no events", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn create_webhook(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::WebhookCreate>,
) -> Result<(StatusCode, Json<rest::WebhookCreated>), AppError> {
    let made = app.create_webhook(&actor(&a), &a.0.user.org, body).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(patch, path = "/admin/webhooks/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the webhook's id")), request_body = rest::WebhookUpdate, responses((status = 200, description = "changed; turned on again, its failures are cleared", body = rest::Webhook), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn update_webhook(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
    Body(body): Body<rest::WebhookUpdate>,
) -> Result<Json<rest::Webhook>, AppError> {
    Ok(Json(
        app.update_webhook(&actor(&a), &a.0.user.org, &id, body)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/admin/webhooks/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the webhook's id")), responses((status = 204, description = "removed, with its log and what it had not delivered"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn delete_webhook(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.delete_webhook(&actor(&a), &a.0.user.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/webhooks/{id}/deliveries", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the webhook's id"), DeliveriesQuery), responses((status = 200, description = "its deliveries, newest first (kept a week)", body = rest::WebhookDeliveries), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn deliveries(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
    Params(q): Params<DeliveriesQuery>,
) -> Result<Json<rest::WebhookDeliveries>, AppError> {
    Ok(Json(
        app.webhook_deliveries(&a.0.user.org, &id, q.limit.unwrap_or(100))
            .await?,
    ))
}

#[utoipa::path(post, path = "/admin/webhooks/{id}/test", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the webhook's id")), responses((status = 202, description = "a ping is on its way: its outcome shows in the log", body = String), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn ping(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<String>), AppError> {
    let delivery = app.ping_webhook(&a.0.user.org, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

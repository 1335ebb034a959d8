//! REST for single sign-on ([`crate::app::sso`]): finding an email's provider, the browser's
//! way there and back, the exchange that ends a sign-in, and the administrators' settings.

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::extract::{Admin, Body, Params};
use crate::Peer;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use protocol::rest;
use serde::Deserialize;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(sso_discover))
        .routes(routes!(sso_start))
        .routes(routes!(sso_callback))
        .routes(routes!(sso_sign_in))
        .routes(routes!(sso_settings, set_sso_settings, remove_sso_settings))
}

/// `GET /sso/discover?email=`.
#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    pub email: String,
}

/// `GET /sso/start`.
#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The organisation's id (from `/sso/discover`).
    pub org: String,
    /// Where the browser comes back to with `code` and `state`: a loopback address
    /// (`http://127.0.0.1:PORT/…`) or `/admin/`.
    pub return_to: String,
    /// The client's PKCE S256 challenge.
    pub challenge: String,
    /// Echoed back to `return_to`.
    #[serde(default)]
    pub state: String,
}

/// `GET /sso/callback`: what the provider sends back.
#[derive(utoipa::IntoParams, Debug, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    #[serde(default)]
    pub state: String,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[utoipa::path(get, path = "/sso/discover", tag = "sessions", params(DiscoverQuery), responses((status = 200, description = "the organisation whose identity provider signs in this email's domain", body = rest::SsoDiscovery), (status = 404, description = "none: sign in with a password", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sso_discover(
    State(app): State<Arc<App>>,
    Params(q): Params<DiscoverQuery>,
) -> Result<Json<rest::SsoDiscovery>, AppError> {
    Ok(Json(app.sso_discover(&q.email).await?))
}

#[utoipa::path(get, path = "/sso/start", tag = "sessions", params(StartQuery), responses((status = 303, description = "to the identity provider's sign-in"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sso_start(
    State(app): State<Arc<App>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Params(q): Params<StartQuery>,
) -> Response {
    if let Err(e) = app.signin.sso_start_from(peer.ip()) {
        return page(e);
    }
    match app
        .sso_start(&q.org, &q.return_to, &q.challenge, &q.state)
        .await
    {
        Ok(to) => see_other(&to),
        Err(e) => page(e),
    }
}

#[utoipa::path(get, path = "/sso/callback", tag = "sessions", params(CallbackQuery), responses((status = 303, description = "back to the client with a one-time code, or with error and error_description"), (status = "default", description = "a page that says what went wrong")))]
async fn sso_callback(State(app): State<Arc<App>>, Params(q): Params<CallbackQuery>) -> Response {
    match app
        .sso_callback(
            &q.state,
            q.code.as_deref(),
            q.error.as_deref(),
            q.error_description.as_deref(),
        )
        .await
    {
        Ok(to) => see_other(&to),
        Err(refusal) => {
            tracing::info!(error = %refusal.error.message, "a single sign-on was refused");
            match refusal.back {
                Some(to) => see_other(&to),
                None => page(refusal.error),
            }
        }
    }
}

#[utoipa::path(post, path = "/sessions/sso", tag = "sessions", request_body = rest::SsoSignIn, responses((status = 201, description = "signed in through the organisation's identity provider: the device token, shown once", body = rest::SignedIn), (status = 401, description = "the code is not valid, was used or has expired, or the verifier does not match", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sso_sign_in(
    State(app): State<Arc<App>>,
    Body(body): Body<rest::SsoSignIn>,
) -> Result<(StatusCode, Json<rest::SignedIn>), AppError> {
    let (token, user) = app.sso_sign_in(&body).await?;
    Ok(crate::api::signed_in(token, &user, body.device))
}

#[utoipa::path(get, path = "/admin/sso", tag = "admin", security(("admin" = [])), responses((status = 200, description = "the organisation's identity provider (never its client secret) and the redirect address to register there", body = rest::SsoSettings), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sso_settings(
    State(app): State<Arc<App>>,
    a: Admin,
) -> Result<Json<rest::SsoSettings>, AppError> {
    Ok(Json(app.sso_settings(&a.0.user.org).await?))
}

#[utoipa::path(put, path = "/admin/sso", tag = "admin", security(("admin" = [])), request_body = rest::SetSso, responses((status = 200, description = "set, after the provider's discovery document was read", body = rest::SsoSettings), (status = 422, description = "the issuer does not answer as an OpenID provider, or a setting is not valid", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_sso_settings(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::SetSso>,
) -> Result<Json<rest::SsoSettings>, AppError> {
    Ok(Json(
        app.set_sso(&Actor::person(&a.0.user), &a.0.user.org, body)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/admin/sso", tag = "admin", security(("admin" = [])), responses((status = 204, description = "removed: everyone signs in with a password again"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn remove_sso_settings(
    State(app): State<Arc<App>>,
    a: Admin,
) -> Result<StatusCode, AppError> {
    app.remove_sso(&Actor::person(&a.0.user), &a.0.user.org)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A refusal a person reads in their browser.
fn page(e: AppError) -> Response {
    let words = crate::app::mail::html_escape(&e.message);
    (
        e.status(),
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed · Presently</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em\">\
<h1>Sign-in failed</h1><p>{words}</p></body></html>"
        )),
    )
        .into_response()
}

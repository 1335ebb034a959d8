//! REST under `/api/v1`: sign-in, the signed-in user's view and notifications, integrations
//! (API key), routing (API key) and administration (an admin's device token). Every error is
//! `{"error": {"kind", "message"}}` with a matching HTTP status.

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::extract::{Body, Device, Key, Params};
use crate::openapi;
use crate::Peer;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use presence::{CallOutcome, Preferences};
use protocol::{rest, NotificationSeq, MAX_FRAME_BYTES};
use std::sync::Arc;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(app: Arc<App>) -> Router {
    let (api, document) = api_routes().split_for_parts();
    openapi::keep(document);
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(crate::metrics::on_main))
        .route("/demo/notes/{n}", get(crate::demo::note_page))
        .route("/admin", get(|| async { axum::response::Redirect::permanent("/admin/") }))
        .route("/admin/", get(crate::console::index))
        .route("/admin/{*path}", get(crate::console::asset))
        .nest("/api/v1", api)
        .fallback(|| async { AppError::not_found("no such endpoint: see /api/v1/openapi.json") })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            AppError::new(
                protocol::ErrorKind::MethodNotAllowed,
                format!("{method} is not allowed here: see /api/v1/openapi.json for this path's methods"),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(axum::middleware::from_fn_with_state(app.clone(), count_refusals))
        .layer(axum::middleware::map_response(crate::console::security_headers))
        .with_state(app)
}

/// Counts requests refused (401, 403, 429) for `/metrics`.
async fn count_refusals(
    State(app): State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if matches!(status.as_u16(), 401 | 403 | 429) {
        app.metrics.count_refusal(status, &path);
    }
    response
}

/// `ok`, or 503 with what is wrong (the database, or NATS between nodes), for a load balancer.
async fn health(State(app): State<Arc<App>>) -> (StatusCode, String) {
    match app.health().await {
        Ok(()) => (StatusCode::OK, "ok".into()),
        Err(why) => {
            tracing::warn!(%why, "unhealthy");
            (StatusCode::SERVICE_UNAVAILABLE, why)
        }
    }
}

/// Every route under `/api/v1`, each registered with its OpenAPI description: the router and
/// the document come from this one list.
fn api_routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(openapi::Frame::openapi())
        .routes(routes!(openapi_doc))
        .routes(routes!(version))
        .routes(routes!(crate::ws::upgrade))
        .routes(routes!(sign_in))
        .routes(routes!(redeem_code))
        .routes(routes!(sign_out))
        .routes(routes!(change_password))
        .routes(routes!(my_devices))
        .routes(routes!(sign_out_device))
        .routes(routes!(me))
        .routes(routes!(change))
        .routes(routes!(explain))
        .routes(routes!(preferences, set_preferences))
        .routes(routes!(limits))
        .routes(routes!(team))
        .routes(routes!(directory))
        .routes(routes!(statuses))
        .routes(routes!(list_notifications, send_notification))
        .routes(routes!(mark_read))
        .routes(routes!(dismiss))
        .routes(routes!(read_all))
        .routes(routes!(integration_event))
        .routes(routes!(bridge_presence))
        .routes(routes!(team_call))
        .routes(routes!(direct_call))
        .routes(routes!(assign))
        .merge(crate::admin_api::routes())
        .merge(crate::faces_api::routes())
        .merge(crate::favourites_api::routes())
        .merge(crate::webhooks_api::routes())
        .merge(crate::calendars_api::routes())
        .merge(crate::sso_api::routes())
}

#[utoipa::path(get, path = "/openapi.json", tag = "sessions", responses((status = 200, description = "this document", content_type = "application/json")))]
async fn openapi_doc() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}

#[utoipa::path(get, path = "/version", tag = "sessions", responses((status = 200, description = "this server's version, the protocol versions it speaks, and the desktop app release its administrator publishes", body = rest::ServerVersion)))]
async fn version(State(app): State<Arc<App>>) -> Json<rest::ServerVersion> {
    Json(rest::ServerVersion {
        server: env!("CARGO_PKG_VERSION").to_string(),
        protocol: protocol::PROTOCOL_VERSION,
        min_protocol: protocol::MIN_PROTOCOL_VERSION,
        app: app
            .release
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    })
}

#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body = rest::SignIn, responses((status = 201, description = "signed in: the device token, shown once", body = rest::SignedIn), (status = 401, description = "wrong email or password", body = rest::ErrorBody), (status = 429, description = "too many attempts from this address or for this account, or too many sign-ins being checked at once: try again after Retry-After seconds", body = rest::ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait"))), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(body): Body<rest::SignIn>,
) -> Result<(StatusCode, Json<rest::SignedIn>), AppError> {
    let (token, user) = app
        .sign_in(
            &body.email,
            &body.password,
            &body.device,
            &presence::DeviceAbout {
                name: body.device_name.clone(),
                platform: body.platform.unwrap_or_default(),
            },
            peer.ip(),
        )
        .await?;
    Ok(signed_in(token, &user, body.device))
}

#[utoipa::path(delete, path = "/sessions/current", tag = "sessions", security(("device" = [])), responses((status = 204, description = "signed out: the token no longer works and the device is offline at once"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sign_out(State(app): State<Arc<App>>, Device(d): Device) -> Result<StatusCode, AppError> {
    app.sign_out(&d).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a sign-in, by password or by code.
pub(crate) fn signed_in(
    token: String,
    user: &crate::app::Slot,
    device: presence::DeviceId,
) -> (StatusCode, Json<rest::SignedIn>) {
    (
        StatusCode::CREATED,
        Json(rest::SignedIn {
            token,
            user: user.id.clone(),
            name: user.name.clone(),
            org: user.org.clone(),
            device,
            role: user.role,
        }),
    )
}

#[utoipa::path(post, path = "/sessions/code", tag = "sessions", request_body = rest::RedeemCode, responses((status = 201, description = "signed in with an invite (the account is made) or a password reset (the new password is set): the device token, shown once", body = rest::SignedIn), (status = 401, description = "the code is not valid, was used, withdrawn or has expired", body = rest::ErrorBody), (status = 429, description = "too many attempts from this address", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn redeem_code(
    State(app): State<Arc<App>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Body(body): Body<rest::RedeemCode>,
) -> Result<(StatusCode, Json<rest::SignedIn>), AppError> {
    let (token, user) = app.redeem_code(&body, peer.ip()).await?;
    Ok(signed_in(token, &user, body.device))
}

#[utoipa::path(put, path = "/me/password", tag = "me", security(("device" = [])), request_body = rest::ChangePassword, responses((status = 204, description = "the new password is set (and other devices signed out if asked)"), (status = 403, description = "the current password is wrong", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn change_password(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<rest::ChangePassword>,
) -> Result<StatusCode, AppError> {
    app.change_password(&d, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me/devices", tag = "me", security(("device" = [])), responses((status = 200, description = "the person's signed-in devices, this one marked current", body = rest::Devices), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn my_devices(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::Devices>, AppError> {
    let mut devices = app.devices(&d.user.org, Some(&d.user.id)).await?;
    for dev in &mut devices {
        dev.current = dev.device == d.device;
    }
    Ok(Json(rest::Devices { devices }))
}

#[utoipa::path(delete, path = "/me/devices/{device}", tag = "me", security(("device" = [])), params(("device" = String, Path, description = "the device's id")), responses((status = 204, description = "the device is signed out: its token stops working and it closes at once"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn sign_out_device(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(device): Path<String>,
) -> Result<StatusCode, AppError> {
    app.revoke_device(
        &Actor::person(&d.user),
        &d.user.org,
        d.user.id.as_str(),
        &device,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "me", security(("device" = [])), responses((status = 200, description = "the signed-in person", body = rest::Me), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn me(State(app): State<Arc<App>>, Device(d): Device) -> Result<Json<rest::Me>, AppError> {
    let org = app.org(&d.user.org)?;
    Ok(Json(rest::Me {
        user: d.user.id.clone(),
        name: d.user.name.clone(),
        email: d.user.email.clone(),
        role: d.user.role,
        org: rest::OrgRef {
            id: org.row.id.clone(),
            name: org.row.name.clone(),
        },
        device: d.device.clone(),
        view: app.self_view(&d.user).await,
        unread: app.unread_count(&d.user.id).await?,
        teams: app
            .teams_of_org(&d.user.org)
            .into_iter()
            .filter(|(_, t)| t.members.contains(&d.user.id))
            .map(|(id, t)| rest::TeamRef { id, name: t.name })
            .collect(),
        avatar: d.user.avatar.clone(),
    }))
}

#[utoipa::path(post, path = "/me/changes", tag = "me", security(("device" = [])), request_body = rest::SelfChange, responses((status = 200, description = "applied, or applied before under the same request id from this device (nothing changed again): how the person is shown now", body = rest::ChangeApplied), (status = 409, description = "the change does not apply now (e.g. resuming with nothing paused)", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn change(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<rest::SelfChange>,
) -> Result<Json<rest::ChangeApplied>, AppError> {
    if let Some(problem) = body.request.problem() {
        return Err(AppError::invalid(problem));
    }
    app.change(&d.user.id, &d.device, &body.request, body.change)
        .await?;
    Ok(Json(rest::ChangeApplied {
        request: body.request,
        view: app.self_view(&d.user).await,
    }))
}

#[utoipa::path(get, path = "/me/explain", tag = "me", security(("device" = [])), responses((status = 200, description = "why the person is shown as they are", body = presence::Explanation), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn explain(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<presence::Explanation>, AppError> {
    Ok(Json(app.explain(&d.user).await?))
}

#[utoipa::path(get, path = "/me/preferences", tag = "me", security(("device" = [])), responses((status = 200, description = "the person's own settings", body = Preferences), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn preferences(State(app): State<Arc<App>>, Device(d): Device) -> Json<Preferences> {
    Json(app.person(&d.user).await.preferences)
}

#[utoipa::path(get, path = "/me/limits", tag = "me", security(("device" = [])), responses((status = 200, description = "what the organisation allows the person to choose in their settings", body = rest::PersonalLimits), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn limits(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::PersonalLimits>, AppError> {
    let org = app.org(&d.user.org)?;
    let policy = &org.row.policy;
    let (idle_after_min, idle_after_max) = crate::app::IDLE_AFTER_RANGE;
    Ok(Json(rest::PersonalLimits {
        auto_away: policy.auto_away,
        idle_after: policy.idle_after,
        idle_after_min,
        idle_after_max,
        offline_after: policy.offline_after,
        forward_to_phone: org.row.catalog.forward_to_phone_enabled,
        teams: app
            .teams_of_org(&d.user.org)
            .into_iter()
            .map(|(id, t)| rest::TeamRef { id, name: t.name })
            .collect(),
    }))
}

#[utoipa::path(put, path = "/me/preferences", tag = "me", security(("device" = [])), request_body = Preferences, responses((status = 200, description = "the settings as stored", body = Preferences), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
/// The person's own settings: time zone, schedule (working hours, quiet hours, DND windows),
/// idle threshold (null: the organisation's), urgent allow-list, call settings.
async fn set_preferences(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(prefs): Body<Preferences>,
) -> Result<Json<Preferences>, AppError> {
    Ok(Json(app.set_preferences(&d.user.id, prefs).await?))
}

#[utoipa::path(get, path = "/team", tag = "me", security(("device" = [])), responses((status = 200, description = "the person's teammates as the panel shows them", body = rest::Team), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn team(State(app): State<Arc<App>>, Device(d): Device) -> Json<rest::Team> {
    Json(rest::Team {
        members: app.members(&d.user.id),
    })
}

#[utoipa::path(get, path = "/directory", tag = "me", security(("device" = [])), params(rest::DirectoryQuery), responses((status = 200, description = "everyone in the organisation who matches, by name, as teammates see them (Invisible shows as Offline)", body = rest::Directory), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn directory(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Params(q): Params<rest::DirectoryQuery>,
) -> Result<Json<rest::Directory>, AppError> {
    let query = q.q.unwrap_or_default();
    if query.chars().count() > 200 {
        return Err(AppError::invalid(
            "the search is longer than 200 characters: shorten it",
        ));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200) as usize;
    let (people, more) = app.directory(&d.user.org, &query, q.family, limit).await;
    Ok(Json(rest::Directory { people, more }))
}

#[utoipa::path(get, path = "/statuses", tag = "me", security(("device" = [])), responses((status = 200, description = "the statuses the person may choose: the organisation's, then their own", body = rest::Statuses), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn statuses(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::Statuses>, AppError> {
    let rules = app.rules(&d.user.org)?;
    let person = app.person(&d.user).await;
    Ok(Json(rest::Statuses {
        statuses: rules.selectable(&person),
    }))
}

#[utoipa::path(get, path = "/notifications", tag = "notifications", security(("device" = [])), params(rest::NotificationsQuery), responses((status = 200, description = "a page of the person's notifications, oldest first", body = rest::NotificationsPage), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn list_notifications(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Params(q): Params<rest::NotificationsQuery>,
) -> Result<Json<rest::NotificationsPage>, AppError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = app
        .notifications(&d.user.id, q.after.map(NotificationSeq), limit, true)
        .await?;
    Ok(Json(rest::NotificationsPage {
        next_after: list.last().map(|n| n.seq),
        notifications: list,
        unread: app.unread_count(&d.user.id).await?,
    }))
}

#[utoipa::path(post, path = "/notifications", tag = "notifications", security(("apiKey" = [])), request_body = rest::SendNotification, responses((status = 201, description = "stored, decided (shown or held) and delivered", body = rest::NotificationSent), (status = 200, description = "sent before with this external_id: the stored one", body = rest::NotificationSent), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn send_notification(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<rest::SendNotification>,
) -> Result<(StatusCode, Json<rest::NotificationSent>), AppError> {
    let (notification, new) = app.notify(&k.org, body).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(rest::NotificationSent {
            notification,
            duplicate: !new,
        }),
    ))
}

#[utoipa::path(post, path = "/notifications/read", tag = "notifications", security(("device" = [])), request_body = rest::NotificationList, responses((status = 200, description = "read on every device", body = rest::Changed), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn mark_read(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<rest::NotificationList>,
) -> Result<Json<rest::Changed>, AppError> {
    let changed = app
        .mark(&d.user.id, Some(&body.notifications), false)
        .await?;
    Ok(Json(rest::Changed { changed }))
}

#[utoipa::path(post, path = "/notifications/dismiss", tag = "notifications", security(("device" = [])), request_body = rest::NotificationList, responses((status = 200, description = "dismissed on every device", body = rest::Changed), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn dismiss(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<rest::NotificationList>,
) -> Result<Json<rest::Changed>, AppError> {
    let changed = app
        .mark(&d.user.id, Some(&body.notifications), true)
        .await?;
    Ok(Json(rest::Changed { changed }))
}

#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications", security(("device" = [])), responses((status = 200, description = "every notification read on every device", body = rest::Changed), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn read_all(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<Json<rest::Changed>, AppError> {
    let changed = app.mark(&d.user.id, None, false).await?;
    Ok(Json(rest::Changed { changed }))
}

#[utoipa::path(post, path = "/integrations/events", tag = "integrations", security(("apiKey" = [])), request_body = rest::IntegrationEvent, responses((status = 201, description = "applied", body = rest::IntegrationApplied), (status = 200, description = "applied before: nothing changed, except that a start sent again renews a call or meeting still going on", body = rest::IntegrationApplied), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn integration_event(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<rest::IntegrationEvent>,
) -> Result<(StatusCode, Json<rest::IntegrationApplied>), AppError> {
    let (applied, until) = app
        .integration_event(&k.org, &body.user, body.kind, &body.external_id, body.until)
        .await?;
    let slot = app.user_in_org(&k.org, &body.user)?;
    let status = if applied {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(rest::IntegrationApplied {
            applied,
            until,
            view: app.self_view(&slot).await.seen_by_others,
        }),
    ))
}

#[utoipa::path(get, path = "/integrations/presence", tag = "integrations", security(("apiKey" = [])), params(rest::BridgeQuery), responses((status = 200, description = "everyone in the organisation (or the one asked for) as teammates see them, and as Microsoft Graph, Matrix and XMPP say it (docs/integrations.md has the table)", body = rest::BridgePresence), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn bridge_presence(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Params(q): Params<rest::BridgeQuery>,
) -> Result<Json<rest::BridgePresence>, AppError> {
    let slots = match &q.user {
        Some(user) => vec![app.user_in_org(&k.org, user)?],
        None => app
            .people_of_org(&k.org)
            .into_iter()
            .filter(|s| s.active)
            .collect(),
    };
    let mut people = Vec::with_capacity(slots.len());
    for slot in slots {
        let view = app.self_view(&slot).await.seen_by_others;
        people.push(rest::BridgePerson {
            user: slot.id.clone(),
            email: slot.email.clone(),
            name: slot.name.clone(),
            graph: protocol::bridges::graph(&view),
            matrix: protocol::bridges::matrix(&view),
            xmpp: protocol::bridges::xmpp(&view),
            view,
        });
    }
    Ok(Json(rest::BridgePresence { people }))
}

#[utoipa::path(post, path = "/routing/team-call", tag = "routing", security(("apiKey" = [])), request_body = rest::TeamRequest, responses((status = 200, description = "whom a team call rings now", body = rest::Ring), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn team_call(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<rest::TeamRequest>,
) -> Result<Json<rest::Ring>, AppError> {
    Ok(Json(rest::Ring {
        ring: app.team_call(&k.org, &body.team).await?,
    }))
}

#[utoipa::path(post, path = "/routing/direct-call", tag = "routing", security(("apiKey" = [])), request_body = rest::UserRequest, responses((status = 200, description = "what a direct call to the person does now", body = CallOutcome), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn direct_call(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<rest::UserRequest>,
) -> Result<Json<CallOutcome>, AppError> {
    Ok(Json(app.direct_call(&k.org, &body.user).await?))
}

#[utoipa::path(post, path = "/routing/assign", tag = "routing", security(("apiKey" = [])), request_body = rest::TeamRequest, responses((status = 200, description = "who gets the next contact", body = rest::Assigned), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn assign(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<rest::TeamRequest>,
) -> Result<Json<rest::Assigned>, AppError> {
    Ok(Json(rest::Assigned {
        assignee: app.assign(&k.org, &body.team).await?,
    }))
}

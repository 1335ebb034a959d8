//! REST under `/api/v1`: sign-in, the signed-in user's view and notifications, integrations
//! (API key), routing (API key) and administration (an admin's device token). Every error is
//! `{"error": {"kind", "message"}}` with a matching HTTP status.

use crate::app::{App, DeviceAuth, IntegrationKind, KeyAuth, NotificationRequest};
use crate::db::Role;
use crate::error::AppError;
use crate::openapi;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use presence::{
    CustomStatus, CustomStatusId, DeviceId, DirectCallPolicy, Emoji, Family, NotificationPolicy,
    Span, StatusId, StatusName, StatusPolicy, Timestamp, WeeklyWindow,
};
use protocol::{NotificationSeq, MAX_FRAME_BYTES};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi_doc))
        .route("/ws", get(crate::ws::upgrade))
        .route("/sessions", post(sign_in))
        .route("/sessions/current", delete(sign_out))
        .route("/me", get(me))
        .route("/me/explain", get(explain))
        .route("/me/preferences", get(preferences).put(set_preferences))
        .route("/team", get(team))
        .route("/statuses", get(statuses))
        .route(
            "/notifications",
            get(list_notifications).post(send_notification),
        )
        .route("/notifications/read", post(mark_read))
        .route("/notifications/dismiss", post(dismiss))
        .route("/notifications/read-all", post(read_all))
        .route("/integrations/events", post(integration_event))
        .route("/routing/team-call", post(team_call))
        .route("/routing/direct-call", post(direct_call))
        .route("/routing/assign", post(assign))
        .route("/admin/statuses", post(create_status))
        .route("/admin/statuses/{id}", put(update_status))
        .route("/admin/policy", put(set_policy))
        .route("/admin/quiet-hours", put(set_quiet_hours))
        .route(
            "/admin/users/{user}/status",
            put(admin_set).delete(admin_clear),
        );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/demo/notes/{n}", get(crate::demo::note_page))
        .nest("/api/v1", api)
        .fallback(|| async { AppError::not_found("no such endpoint: see /api/v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .with_state(app)
}

/// JSON bodies whose rejections are this API's typed errors.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                let kind = match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => protocol::ErrorKind::TooLarge,
                    StatusCode::UNPROCESSABLE_ENTITY => protocol::ErrorKind::Invalid,
                    _ => protocol::ErrorKind::Malformed,
                };
                let message = match kind {
                    protocol::ErrorKind::TooLarge => format!(
                        "the body is larger than {MAX_FRAME_BYTES} bytes: send less at a time"
                    ),
                    _ => format!("the body is not valid: {}", rejection.body_text()),
                };
                Err(AppError::new(kind, message))
            }
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            AppError::unauthorized(
                "no Authorization header: send \"Authorization: Bearer <token>\"",
            )
        })?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| {
            AppError::unauthorized("the Authorization header must be \"Bearer <token>\"")
        })
}

/// A signed-in device (a device token).
pub struct Device(pub DeviceAuth);

impl FromRequestParts<Arc<App>> for Device {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let token = bearer(parts)?;
        app.authenticate_device(token).await.map(Device)
    }
}

/// An administrator's device token.
pub struct Admin(pub DeviceAuth);

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let Device(d) = Device::from_request_parts(parts, app).await?;
        if d.user.role != Role::Admin {
            return Err(AppError::forbidden(
                "only an administrator of the organisation can do this",
            ));
        }
        Ok(Admin(d))
    }
}

/// An integration's API key.
pub struct Key(pub KeyAuth);

impl FromRequestParts<Arc<App>> for Key {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, AppError> {
        let key = bearer(parts)?;
        app.authenticate_key(key).await.map(Key)
    }
}

async fn openapi_doc() -> Json<Value> {
    Json(openapi::document())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
    device: String,
}

async fn sign_in(
    State(app): State<Arc<App>>,
    Body(body): Body<SignIn>,
) -> Result<impl IntoResponse, AppError> {
    let device = DeviceId::parse(body.device)?;
    let (token, user) = app.sign_in(&body.email, &body.password, &device).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "user": user.id,
            "name": user.name,
            "org": user.org,
            "device": device,
            "role": user.role,
        })),
    ))
}

async fn sign_out(State(app): State<Arc<App>>, Device(d): Device) -> Result<StatusCode, AppError> {
    app.sign_out(&d).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(app): State<Arc<App>>, Device(d): Device) -> Result<Json<Value>, AppError> {
    let org = app.org(&d.user.org)?;
    Ok(Json(json!({
        "user": d.user.id,
        "name": d.user.name,
        "email": d.user.email,
        "role": d.user.role,
        "org": { "id": org.row.id, "name": org.row.name },
        "device": d.device,
        "view": app.self_view(&d.user).await,
        "unread": app.db.unread_count(d.user.id.as_str()).await?,
        "teams": app.teams_of_org(&d.user.org).into_iter()
            .filter(|(_, t)| t.members.contains(&d.user.id))
            .map(|(id, t)| json!({"id": id, "name": t.name}))
            .collect::<Vec<_>>(),
    })))
}

async fn explain(State(app): State<Arc<App>>, Device(d): Device) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.explain(&d.user).await?)))
}

async fn preferences(State(app): State<Arc<App>>, Device(d): Device) -> Json<Value> {
    Json(json!(app.person(&d.user).await.preferences))
}

/// The person's own settings: time zone, schedule (working hours, quiet hours, DND windows),
/// idle threshold (null: the organisation's), urgent allow-list, call settings.
async fn set_preferences(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(prefs): Body<presence::Preferences>,
) -> Result<Json<Value>, AppError> {
    if let Some(idle) = prefs.idle_after {
        if !(Span::seconds(60)..=Span::hours(4)).contains(&idle) {
            return Err(AppError::invalid(
                "idle_after must be between 1 minute and 4 hours (milliseconds), or null for the organisation's",
            ));
        }
    }
    if prefs.breakthrough.len() > 100 {
        return Err(AppError::invalid(
            "at most 100 people on the urgent allow-list",
        ));
    }
    let stored = prefs.clone();
    app.mutate(&d.user.id, None, move |p, rules, now| {
        p.set_preferences(rules, now, prefs);
        Ok(())
    })
    .await?;
    Ok(Json(json!(stored)))
}

async fn team(State(app): State<Arc<App>>, Device(d): Device) -> Json<Value> {
    Json(json!({ "members": app.members(&d.user.id).await }))
}

async fn statuses(State(app): State<Arc<App>>, Device(d): Device) -> Result<Json<Value>, AppError> {
    let rules = app.rules(&d.user.org)?;
    Ok(Json(json!({ "statuses": rules.catalog.selectable() })))
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

async fn list_notifications(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = app
        .db
        .notifications(d.user.id.as_str(), q.after.unwrap_or(0), limit, true)
        .await?;
    let next = list.last().map(|n| n.seq);
    Ok(Json(json!({
        "notifications": list,
        "next_after": next,
        "unread": app.db.unread_count(d.user.id.as_str()).await?,
    })))
}

async fn send_notification(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<NotificationRequest>,
) -> Result<impl IntoResponse, AppError> {
    let (n, new) = app.notify(&k.org, body).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "notification": n, "duplicate": !new })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seqs {
    notifications: Vec<NotificationSeq>,
}

async fn mark_read(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<Seqs>,
) -> Result<Json<Value>, AppError> {
    let changed = app
        .mark(&d.user.id, Some(&body.notifications), false)
        .await?;
    Ok(Json(json!({ "changed": changed })))
}

async fn dismiss(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Body(body): Body<Seqs>,
) -> Result<Json<Value>, AppError> {
    let changed = app
        .mark(&d.user.id, Some(&body.notifications), true)
        .await?;
    Ok(Json(json!({ "changed": changed })))
}

async fn read_all(State(app): State<Arc<App>>, Device(d): Device) -> Result<Json<Value>, AppError> {
    let changed = app.mark(&d.user.id, None, false).await?;
    Ok(Json(json!({ "changed": changed })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    user: String,
    kind: IntegrationKind,
    external_id: String,
    /// For a meeting from a calendar: when it is planned to end.
    until: Option<Timestamp>,
}

async fn integration_event(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<EventBody>,
) -> Result<impl IntoResponse, AppError> {
    let applied = app
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
        Json(json!({ "applied": applied, "view": app.self_view(&slot).await.seen_by_others })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    team: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    user: String,
}

async fn team_call(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<TeamBody>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "ring": app.team_call(&k.org, &body.team).await? }),
    ))
}

async fn direct_call(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<UserBody>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.direct_call(&k.org, &body.user).await?)))
}

async fn assign(
    State(app): State<Arc<App>>,
    Key(k): Key,
    Body(body): Body<TeamBody>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "assignee": app.assign(&k.org, &body.team).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    /// A slug: letters, digits, - and _.
    id: Option<String>,
    name: String,
    emoji: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    /// Which family it belongs to (colour and what others assume): available, busy, away,
    /// do_not_disturb.
    family: Family,
    notifications: Option<NotificationPolicy>,
    direct_call: Option<DirectCallPolicy>,
    team_calls: Option<bool>,
    assignable: Option<bool>,
}

fn yes() -> bool {
    true
}

fn custom_status(id: &str, body: StatusBody) -> Result<CustomStatus, AppError> {
    let builtin = match body.family {
        Family::Available => presence::BuiltinStatus::Available,
        Family::Busy => presence::BuiltinStatus::Busy,
        Family::Away => presence::BuiltinStatus::Away,
        Family::DoNotDisturb => presence::BuiltinStatus::DoNotDisturb,
        Family::Offline => {
            return Err(AppError::invalid(
                "a custom status cannot be in the offline family: pick available, busy, away or do_not_disturb",
            ))
        }
    };
    let base = builtin.policy();
    let policy = StatusPolicy {
        family: body.family,
        colour: body.family.colour(),
        glyph: base.glyph,
        selectable: true,
        notifications: body.notifications.unwrap_or(base.notifications),
        direct_call: body.direct_call.unwrap_or(base.direct_call),
        team_calls: body.team_calls.unwrap_or(base.team_calls),
        assignable: body.assignable.unwrap_or(base.assignable),
    };
    Ok(CustomStatus {
        id: CustomStatusId::parse(id.to_string())?,
        name: StatusName::parse(body.name)?,
        emoji: body.emoji.map(Emoji::parse).transpose()?,
        enabled: body.enabled,
        policy,
    })
}

async fn create_status(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<StatusBody>,
) -> Result<impl IntoResponse, AppError> {
    let id = body.id.clone().unwrap_or_else(|| slug(&body.name));
    let status = custom_status(&id, body)?;
    let created = status.clone();
    app.update_org(&a.user.org, move |org| {
        if org.catalog.custom.iter().any(|c| c.id == status.id) {
            return Err(AppError::conflict(format!(
                "a custom status \"{}\" exists already: change it with PUT",
                status.id.as_str()
            )));
        }
        if org.catalog.custom.len() >= 50 {
            return Err(AppError::invalid(
                "at most 50 custom statuses per organisation",
            ));
        }
        org.catalog.custom.push(status);
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

async fn update_status(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(id): Path<String>,
    Body(body): Body<StatusBody>,
) -> Result<Json<Value>, AppError> {
    let status = custom_status(&id, body)?;
    let updated = status.clone();
    app.update_org(&a.user.org, move |org| {
        let slot = org
            .catalog
            .custom
            .iter_mut()
            .find(|c| c.id == status.id)
            .ok_or_else(|| AppError::not_found(format!("no custom status \"{id}\"")))?;
        *slot = status;
        Ok(())
    })
    .await?;
    Ok(Json(json!(updated)))
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "status".into()
    } else {
        s.chars().take(40).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    /// Away after this many seconds without input.
    idle_after_secs: Option<i64>,
    /// Offline after this many seconds without input; null turns it off.
    #[serde(default, with = "double_option")]
    offline_after_secs: Option<Option<i64>>,
    /// After-call work after a call, seconds; null turns it off.
    #[serde(default, with = "double_option")]
    after_call_work_secs: Option<Option<i64>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
}

async fn set_policy(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<PolicyBody>,
) -> Result<Json<Value>, AppError> {
    let check = |secs: i64, what: &str| {
        if (10..=7 * 24 * 3600).contains(&secs) {
            Ok(Span::seconds(secs))
        } else {
            Err(AppError::invalid(format!(
                "{what} must be between 10 seconds and 7 days"
            )))
        }
    };
    let idle = body
        .idle_after_secs
        .map(|s| check(s, "idle_after_secs"))
        .transpose()?;
    let offline = body
        .offline_after_secs
        .map(|o| o.map(|s| check(s, "offline_after_secs")).transpose())
        .transpose()?;
    let acw = body
        .after_call_work_secs
        .map(|o| o.map(|s| check(s, "after_call_work_secs")).transpose())
        .transpose()?;
    let row = app
        .update_org(&a.user.org, move |org| {
            if let Some(i) = idle {
                org.policy.idle_after = i;
            }
            if let Some(o) = offline {
                org.policy.offline_after = o;
            }
            if let Some(w) = acw {
                org.policy.after_call_work = w;
            }
            if let Some(off) = org.policy.offline_after {
                if off <= org.policy.idle_after {
                    return Err(AppError::invalid(
                        "offline_after_secs must be longer than idle_after_secs",
                    ));
                }
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({ "policy": row.policy })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietHoursBody {
    quiet_hours: Vec<WeeklyWindow>,
}

async fn set_quiet_hours(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<QuietHoursBody>,
) -> Result<Json<Value>, AppError> {
    if body.quiet_hours.len() > 14 {
        return Err(AppError::invalid("at most 14 quiet-hour windows"));
    }
    let row = app
        .update_org(&a.user.org, move |org| {
            org.quiet_hours = body.quiet_hours;
            Ok(())
        })
        .await?;
    Ok(Json(json!({ "quiet_hours": row.quiet_hours })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminStatusBody {
    status: StatusId,
    until: Option<Timestamp>,
}

async fn admin_set(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(user): Path<String>,
    Body(body): Body<AdminStatusBody>,
) -> Result<Json<Value>, AppError> {
    let slot = app.user_in_org(&a.user.org, &user)?;
    app.mutate(&slot.id, None, move |p, rules, now| {
        p.admin_set(rules, now, body.status, body.until)
            .map(|_| ())
            .map_err(AppError::from)
    })
    .await?;
    Ok(Json(
        json!({ "view": app.self_view(&slot).await.seen_by_others }),
    ))
}

async fn admin_clear(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(user): Path<String>,
) -> Result<Json<Value>, AppError> {
    let slot = app.user_in_org(&a.user.org, &user)?;
    app.mutate(&slot.id, None, |p, rules, now| {
        p.admin_clear(rules, now);
        Ok(())
    })
    .await?;
    Ok(Json(
        json!({ "view": app.self_view(&slot).await.seen_by_others }),
    ))
}

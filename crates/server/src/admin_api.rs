//! REST under `/api/v1/admin`: an organisation administrator's device token manages people,
//! invites, teams, devices, API keys and the organisation's rules, and reads the audit log.
//! Every handler calls one operation of the application layer ([`crate::app::admin`]), the
//! same one the admin CLI calls.

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::extract::{Admin, Body, Params};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use presence::CustomStatus;
use protocol::rest;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(users, create_user))
        .routes(routes!(user, update_user, delete_user))
        .routes(routes!(reset_password))
        .routes(routes!(user_devices))
        .routes(routes!(revoke_device))
        .routes(routes!(devices))
        .routes(routes!(invites, invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(resend_invite))
        .routes(routes!(teams, create_team))
        .routes(routes!(rename_team, delete_team))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(audit))
        .routes(routes!(custom_statuses, create_status))
        .routes(routes!(update_status, delete_status))
        .routes(routes!(policy, set_policy))
        .routes(routes!(set_quiet_hours))
        .routes(routes!(admin_set, admin_clear))
}

fn actor(a: &Admin) -> Actor {
    Actor::person(&a.0.user)
}

#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("admin" = [])), responses((status = 200, description = "everyone in the organisation, deactivated people too", body = rest::AdminUsers), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn users(State(app): State<Arc<App>>, a: Admin) -> Result<Json<rest::AdminUsers>, AppError> {
    Ok(Json(rest::AdminUsers {
        users: app.admin_users(&a.0.user.org).await?,
    }))
}

#[utoipa::path(post, path = "/admin/users", tag = "admin", security(("admin" = [])), request_body = rest::CreateUser, responses((status = 201, description = "the new person, who can sign in at once", body = rest::AdminUser), (status = 409, description = "the email has an account", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn create_user(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::CreateUser>,
) -> Result<(StatusCode, Json<rest::AdminUser>), AppError> {
    let org = a.0.user.org.clone();
    let id = app
        .create_user_by(
            &actor(&a),
            &org,
            &body.email,
            &body.name,
            &body.password,
            body.role,
            body.time_zone.as_deref().unwrap_or("UTC"),
            &body.teams,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(app.admin_user(&org, id.as_str()).await?),
    ))
}

#[utoipa::path(get, path = "/admin/users/{user}", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 200, description = "the person", body = rest::AdminUser), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn user(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
) -> Result<Json<rest::AdminUser>, AppError> {
    Ok(Json(app.admin_user(&a.0.user.org, &user).await?))
}

#[utoipa::path(patch, path = "/admin/users/{user}", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), request_body = rest::UpdateUser, responses((status = 200, description = "the person as changed: a deactivation closes their sessions and shows them Offline at once", body = rest::AdminUser), (status = 409, description = "it would leave the organisation without an administrator, or lock you out", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn update_user(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
    Body(body): Body<rest::UpdateUser>,
) -> Result<Json<rest::AdminUser>, AppError> {
    Ok(Json(
        app.update_user(&actor(&a), &a.0.user.org, &user, body)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/admin/users/{user}", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "deleted with their notifications, devices and memberships; the audit log keeps the deletion"), (status = 409, description = "it would leave the organisation without an administrator, or delete you", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn delete_user(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.delete_user(&actor(&a), &a.0.user.org, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/users/{user}/password-reset", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 201, description = "the old password stops working, the person's devices are signed out; give them this code (valid 24 h) to set a new one", body = rest::PasswordReset), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn reset_password(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
) -> Result<(StatusCode, Json<rest::PasswordReset>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(app.reset_password(&actor(&a), &a.0.user.org, &user).await?),
    ))
}

#[utoipa::path(get, path = "/admin/users/{user}/devices", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 200, description = "the person's signed-in devices", body = rest::Devices), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn user_devices(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
) -> Result<Json<rest::Devices>, AppError> {
    let slot = app.user_in_org(&a.0.user.org, &user)?;
    Ok(Json(rest::Devices {
        devices: app.devices(&a.0.user.org, Some(&slot.id)).await?,
    }))
}

#[utoipa::path(delete, path = "/admin/users/{user}/devices/{device}", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email"), ("device" = String, Path, description = "the device's id")), responses((status = 204, description = "signed out: the token stops working and the device closes at once"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn revoke_device(
    State(app): State<Arc<App>>,
    a: Admin,
    Path((user, device)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    app.revoke_device(&actor(&a), &a.0.user.org, &user, &device)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/devices", tag = "admin", security(("admin" = [])), responses((status = 200, description = "every signed-in device in the organisation", body = rest::Devices), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn devices(State(app): State<Arc<App>>, a: Admin) -> Result<Json<rest::Devices>, AppError> {
    Ok(Json(rest::Devices {
        devices: app.devices(&a.0.user.org, None).await?,
    }))
}

#[utoipa::path(get, path = "/admin/invites", tag = "admin", security(("admin" = [])), responses((status = 200, description = "invites, newest first, with where each stands", body = rest::Invites), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn invites(State(app): State<Arc<App>>, a: Admin) -> Result<Json<rest::Invites>, AppError> {
    Ok(Json(rest::Invites {
        invites: app.invites(&a.0.user.org).await?,
    }))
}

#[utoipa::path(post, path = "/admin/invites", tag = "admin", security(("admin" = [])), request_body = rest::CreateInvite, responses((status = 201, description = "the invite: give the person the code or the link (shown once)", body = rest::InviteCreated), (status = 409, description = "the email has an account", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn invite(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::CreateInvite>,
) -> Result<(StatusCode, Json<rest::InviteCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(app.invite(&actor(&a), &a.0.user.org, body).await?),
    ))
}

#[utoipa::path(post, path = "/admin/invites/{id}/send", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the invite's id")), responses((status = 201, description = "a new code, mailed again when the server sends mail (the earlier code no longer works); `invite.mail` says whether the relay took it", body = rest::InviteCreated), (status = 409, description = "the invite was used, withdrawn or has expired", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn resend_invite(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<rest::InviteCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(app.resend_invite(&actor(&a), &a.0.user.org, &id).await?),
    ))
}

#[utoipa::path(delete, path = "/admin/invites/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the invite's id")), responses((status = 204, description = "withdrawn: the code no longer works"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn revoke_invite(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.revoke_invite(&actor(&a), &a.0.user.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/teams", tag = "admin", security(("admin" = [])), responses((status = 200, description = "the organisation's teams with their members", body = rest::AdminTeams), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn teams(State(app): State<Arc<App>>, a: Admin) -> Json<rest::AdminTeams> {
    Json(rest::AdminTeams {
        teams: app.admin_teams(&a.0.user.org),
    })
}

fn team_of(app: &App, org: &str, id: &str) -> Result<rest::AdminTeam, AppError> {
    app.admin_teams(org)
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::not_found("the team was just removed"))
}

#[utoipa::path(post, path = "/admin/teams", tag = "admin", security(("admin" = [])), request_body = rest::TeamName, responses((status = 201, description = "the new team", body = rest::AdminTeam), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn create_team(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::TeamName>,
) -> Result<(StatusCode, Json<rest::AdminTeam>), AppError> {
    let org = a.0.user.org.clone();
    let id = app.create_team_by(&actor(&a), &org, &body.name).await?;
    Ok((StatusCode::CREATED, Json(team_of(&app, &org, &id)?)))
}

#[utoipa::path(patch, path = "/admin/teams/{team}", tag = "admin", security(("admin" = [])), params(("team" = String, Path, description = "the team's id")), request_body = rest::TeamName, responses((status = 200, description = "the team renamed", body = rest::AdminTeam), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn rename_team(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(team): Path<String>,
    Body(body): Body<rest::TeamName>,
) -> Result<Json<rest::AdminTeam>, AppError> {
    let org = a.0.user.org.clone();
    app.rename_team(&actor(&a), &org, &team, &body.name).await?;
    Ok(Json(team_of(&app, &org, &team)?))
}

#[utoipa::path(delete, path = "/admin/teams/{team}", tag = "admin", security(("admin" = [])), params(("team" = String, Path, description = "the team's id")), responses((status = 204, description = "deleted; its members stay in the organisation"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn delete_team(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(team): Path<String>,
) -> Result<StatusCode, AppError> {
    app.delete_team(&actor(&a), &a.0.user.org, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/admin/teams/{team}/members/{user}", tag = "admin", security(("admin" = [])), params(("team" = String, Path, description = "the team's id"), ("user" = String, Path, description = "the person's id or email")), responses((status = 200, description = "the team with the person in it; teammates see them at once", body = rest::AdminTeam), (status = 409, description = "already in the team", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn add_member(
    State(app): State<Arc<App>>,
    a: Admin,
    Path((team, user)): Path<(String, String)>,
) -> Result<Json<rest::AdminTeam>, AppError> {
    let org = a.0.user.org.clone();
    app.add_to_team(&actor(&a), &org, &team, &user).await?;
    Ok(Json(team_of(&app, &org, &team)?))
}

#[utoipa::path(delete, path = "/admin/teams/{team}/members/{user}", tag = "admin", security(("admin" = [])), params(("team" = String, Path, description = "the team's id"), ("user" = String, Path, description = "the person's id or email")), responses((status = 200, description = "the team without the person", body = rest::AdminTeam), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn remove_member(
    State(app): State<Arc<App>>,
    a: Admin,
    Path((team, user)): Path<(String, String)>,
) -> Result<Json<rest::AdminTeam>, AppError> {
    let org = a.0.user.org.clone();
    app.remove_from_team(&actor(&a), &org, &team, &user).await?;
    Ok(Json(team_of(&app, &org, &team)?))
}

#[utoipa::path(get, path = "/admin/keys", tag = "admin", security(("admin" = [])), responses((status = 200, description = "the organisation's API keys, revoked ones too", body = rest::ApiKeys), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn keys(State(app): State<Arc<App>>, a: Admin) -> Result<Json<rest::ApiKeys>, AppError> {
    Ok(Json(rest::ApiKeys {
        keys: app.keys(&a.0.user.org).await?,
    }))
}

#[utoipa::path(post, path = "/admin/keys", tag = "admin", security(("admin" = [])), request_body = rest::CreateKey, responses((status = 201, description = "the new key; its secret is shown once", body = rest::KeyCreated), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn create_key(
    State(app): State<Arc<App>>,
    a: Admin,
    Body(body): Body<rest::CreateKey>,
) -> Result<(StatusCode, Json<rest::KeyCreated>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.create_key_by(&actor(&a), &a.0.user.org, &body.name)
                .await?,
        ),
    ))
}

#[utoipa::path(delete, path = "/admin/keys/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the key's id")), responses((status = 204, description = "revoked: integrations using it are refused from now on"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn revoke_key(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.revoke_key_by(&actor(&a), &a.0.user.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", security(("admin" = [])), params(rest::AuditQuery), responses((status = 200, description = "administrative actions, newest first", body = rest::AuditPage), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn audit(
    State(app): State<Arc<App>>,
    a: Admin,
    Params(q): Params<rest::AuditQuery>,
) -> Result<Json<rest::AuditPage>, AppError> {
    Ok(Json(
        app.audit(
            &a.0.user.org,
            q.before,
            q.before_id.as_deref(),
            q.limit.unwrap_or(100),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/admin/statuses", tag = "admin", security(("admin" = [])), responses((status = 200, description = "every custom status, disabled ones too, and which are in use", body = rest::CustomStatuses), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn custom_statuses(
    State(app): State<Arc<App>>,
    a: Admin,
) -> Result<Json<rest::CustomStatuses>, AppError> {
    Ok(Json(app.custom_statuses(&a.0.user.org).await?))
}

#[utoipa::path(delete, path = "/admin/statuses/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the custom status's id")), responses((status = 204, description = "deleted"), (status = 409, description = "someone has chosen it now: disable it instead", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn delete_status(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.delete_custom_status(&actor(&a), &a.0.user.org, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/policy", tag = "admin", security(("admin" = [])), responses((status = 200, description = "the organisation's rules as they are", body = rest::OrgRules), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn policy(State(app): State<Arc<App>>, a: Admin) -> Result<Json<rest::OrgRules>, AppError> {
    let org = app.org(&a.0.user.org)?;
    let catalog = &org.row.catalog;
    Ok(Json(rest::OrgRules {
        policy: org.row.policy.clone(),
        quiet_hours: org.row.quiet_hours.clone(),
        do_not_disturb: org.row.do_not_disturb.clone(),
        forward_to_phone_enabled: catalog.forward_to_phone_enabled,
        builtin: catalog.builtin.clone(),
        builtin_statuses: presence::BuiltinStatus::ALL
            .into_iter()
            .filter_map(|b| catalog.entry(&presence::StatusId::Builtin(b)))
            .collect(),
    }))
}

#[utoipa::path(post, path = "/admin/statuses", tag = "admin", security(("admin" = [])), request_body = rest::CustomStatusRequest, responses((status = 201, description = "the new status", body = CustomStatus), (status = 409, description = "a status with this id exists", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn create_status(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<rest::CustomStatusRequest>,
) -> Result<(StatusCode, Json<CustomStatus>), AppError> {
    let created = app
        .create_custom_status(&Actor::person(&a.user), &a.user.org, body)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(put, path = "/admin/statuses/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path, description = "the custom status's id")), request_body = rest::CustomStatusRequest, responses((status = 200, description = "the status as changed", body = CustomStatus), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn update_status(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(id): Path<String>,
    Body(body): Body<rest::CustomStatusRequest>,
) -> Result<Json<CustomStatus>, AppError> {
    Ok(Json(
        app.update_custom_status(&Actor::person(&a.user), &a.user.org, &id, body)
            .await?,
    ))
}

#[utoipa::path(put, path = "/admin/policy", tag = "admin", security(("admin" = [])), request_body = rest::PolicyRequest, responses((status = 200, description = "the organisation's timeouts now", body = rest::Policy), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_policy(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<rest::PolicyRequest>,
) -> Result<Json<rest::Policy>, AppError> {
    Ok(Json(rest::Policy {
        policy: app
            .set_policy(&Actor::person(&a.user), &a.user.org, body)
            .await?,
    }))
}

#[utoipa::path(put, path = "/admin/quiet-hours", tag = "admin", security(("admin" = [])), request_body = rest::QuietHours, responses((status = 200, description = "the organisation's default quiet hours now", body = rest::QuietHours), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_quiet_hours(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Body(body): Body<rest::QuietHours>,
) -> Result<Json<rest::QuietHours>, AppError> {
    let (quiet_hours, do_not_disturb) = app
        .set_quiet_hours(
            &Actor::person(&a.user),
            &a.user.org,
            body.quiet_hours,
            body.do_not_disturb,
        )
        .await?;
    Ok(Json(rest::QuietHours {
        quiet_hours,
        do_not_disturb: Some(do_not_disturb),
    }))
}

#[utoipa::path(put, path = "/admin/users/{user}/status", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), request_body = rest::AdminStatus, responses((status = 200, description = "what teammates see of the person now", body = rest::SeenByOthers), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn admin_set(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(user): Path<String>,
    Body(body): Body<rest::AdminStatus>,
) -> Result<Json<rest::SeenByOthers>, AppError> {
    Ok(Json(rest::SeenByOthers {
        view: app.admin_status(&a.user.org, &user, Some(body)).await?,
    }))
}

#[utoipa::path(delete, path = "/admin/users/{user}/status", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 200, description = "what teammates see of the person now", body = rest::SeenByOthers), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn admin_clear(
    State(app): State<Arc<App>>,
    Admin(a): Admin,
    Path(user): Path<String>,
) -> Result<Json<rest::SeenByOthers>, AppError> {
    Ok(Json(rest::SeenByOthers {
        view: app.admin_status(&a.user.org, &user, None).await?,
    }))
}

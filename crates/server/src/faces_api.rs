//! REST for people's photos: a person sets or removes their own (`/me/avatar`), an
//! administrator anyone's in their organisation (`/admin/users/{user}/avatar`), and anyone
//! signed in to the organisation reads them (`/people/{user}/avatar?size=`), with an ETag. The
//! upload is the image itself as the body (PNG, JPEG or WebP, at most 5 MiB).

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::extract::{Admin, Device, Params, Photo};
use crate::faces::{self, Face};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::rest;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(set_mine, remove_mine))
        .routes(routes!(set_theirs, remove_theirs))
        .routes(routes!(photo))
        // Twice a photo's limit is read whole, so that a photo somewhat too large is told so in
        // words (413) rather than cut off mid-upload; beyond that the connection is closed.
        .layer(DefaultBodyLimit::max(2 * faces::MAX_UPLOAD))
}

fn stored(face: Face) -> Json<rest::Avatar> {
    Json(rest::Avatar {
        version: face.version,
        sizes: face.sizes.iter().map(|(s, _)| *s).collect(),
    })
}

#[utoipa::path(put, path = "/me/avatar", tag = "me", security(("device" = [])), request_body(content = Vec<u8>, description = "the photo: a PNG, JPEG or WebP image of at most 5 MiB and 6000 pixels on each side; cropped square from the centre", content_type = "image/*"), responses((status = 200, description = "the photo as stored; teammates see it at once", body = rest::Avatar), (status = 413, description = "larger than 5 MiB", body = rest::ErrorBody), (status = 422, description = "not a PNG, JPEG or WebP image, or too many pixels", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_mine(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Photo(bytes): Photo,
) -> Result<Json<rest::Avatar>, AppError> {
    let face = app
        .set_face(
            &Actor::person(&d.user),
            &d.user.org,
            d.user.id.as_str(),
            Some(bytes),
        )
        .await?;
    Ok(stored(face.expect("a photo was given")))
}

#[utoipa::path(delete, path = "/me/avatar", tag = "me", security(("device" = [])), responses((status = 204, description = "removed: teammates see the person's initials"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn remove_mine(
    State(app): State<Arc<App>>,
    Device(d): Device,
) -> Result<StatusCode, AppError> {
    app.set_face(
        &Actor::person(&d.user),
        &d.user.org,
        d.user.id.as_str(),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/admin/users/{user}/avatar", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), request_body(content = Vec<u8>, description = "the photo: a PNG, JPEG or WebP image of at most 5 MiB", content_type = "image/*"), responses((status = 200, description = "the photo as stored", body = rest::Avatar), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn set_theirs(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
    Photo(bytes): Photo,
) -> Result<Json<rest::Avatar>, AppError> {
    let face = app
        .set_face(&Actor::person(&a.0.user), &a.0.user.org, &user, Some(bytes))
        .await?;
    Ok(stored(face.expect("a photo was given")))
}

#[utoipa::path(delete, path = "/admin/users/{user}/avatar", tag = "admin", security(("admin" = [])), params(("user" = String, Path, description = "the person's id or email")), responses((status = 204, description = "removed: their initials show"), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn remove_theirs(
    State(app): State<Arc<App>>,
    a: Admin,
    Path(user): Path<String>,
) -> Result<StatusCode, AppError> {
    app.set_face(&Actor::person(&a.0.user), &a.0.user.org, &user, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SizeQuery {
    /// Pixels wanted (the smallest stored size at least this large is served: 32, 64, 128 or
    /// 256); 64 when absent.
    size: Option<u32>,
}

#[utoipa::path(get, path = "/people/{user}/avatar", tag = "me", security(("device" = [])), params(("user" = String, Path, description = "the person's id"), SizeQuery), responses((status = 200, description = "the photo, square, as JPEG, with its ETag", content_type = "image/jpeg"), (status = 304, description = "not changed since the ETag sent in If-None-Match"), (status = 404, description = "no photo (show initials), or nobody of that id in the caller's organisation", body = rest::ErrorBody), (status = "default", description = "what went wrong and what to do", body = rest::ErrorBody)))]
async fn photo(
    State(app): State<Arc<App>>,
    Device(d): Device,
    Path(user): Path<String>,
    Params(q): Params<SizeQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (version, size, jpeg) = app.face(&d.user.org, &user, q.size).await?;
    let etag = format!("\"{version}-{size}\"");
    // Private (only the organisation may see it), kept, and checked again each time: a new
    // photo shows at once.
    let cache = (header::CACHE_CONTROL, "private, no-cache".to_string());
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matched {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_string()),
            (header::ETAG, etag),
            cache,
        ],
        jpeg,
    )
        .into_response())
}

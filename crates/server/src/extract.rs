//! What a REST handler takes from a request, with this API's typed errors: query strings and
//! JSON bodies, and who is asking (a device, an administrator, an integration's key). Every
//! handler module imports these; none imports another handler module.

use crate::app::{App, DeviceAuth, KeyAuth};
use crate::db::Role;
use crate::error::AppError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use protocol::MAX_FRAME_BYTES;
use std::sync::Arc;

/// Query strings whose rejections are this API's typed errors.
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|rejection| {
                AppError::invalid(format!(
                    "the query string is not valid: {}",
                    rejection.body_text()
                ))
            })
    }
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

/// A photo sent as the body itself; one over [`crate::faces::MAX_UPLOAD`] is refused in words.
pub struct Photo(pub Vec<u8>);

impl<S: Send + Sync> FromRequest<S> for Photo {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let too_large = || {
            AppError::new(
                protocol::ErrorKind::TooLarge,
                "the photo is larger than 5 MiB: choose a smaller one",
            )
        };
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) if b.len() > crate::faces::MAX_UPLOAD => Err(too_large()),
            Ok(b) if b.is_empty() => Err(AppError::invalid(
                "no photo was sent: send the image itself as the body",
            )),
            Ok(b) => Ok(Photo(b.to_vec())),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(r) => Err(AppError::new(
                protocol::ErrorKind::Malformed,
                format!("the photo could not be read: {}", r.body_text()),
            )),
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

//! One error type for the server: a wire error kind for programs, a message for people, and the
//! HTTP status it maps to. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::{ErrorKind, WireError};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    /// Set for errors that mean the server cannot start (bad configuration, database missing).
    pub config: bool,
    /// When the caller may try again (sent as `Retry-After`, in whole seconds).
    pub retry_after: Option<std::time::Duration>,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        AppError {
            kind,
            message: message.into(),
            config: false,
            retry_after: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Invalid, message)
    }
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::NotFound, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Forbidden, message)
    }
    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Conflict, message)
    }
    /// Too many attempts: `what`, and when to try again (whole seconds, rounded up, at least
    /// one; the same figure goes in the message and in `Retry-After`).
    pub fn rate_limited(what: &str, after: std::time::Duration) -> AppError {
        let secs = (after.as_secs() + u64::from(after.subsec_nanos() > 0)).max(1);
        AppError {
            retry_after: Some(std::time::Duration::from_secs(secs)),
            ..AppError::new(
                ErrorKind::RateLimited,
                format!("{what}: try again in {secs} s"),
            )
        }
    }
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Internal, message)
    }
    pub fn config(message: impl Into<String>) -> AppError {
        AppError {
            config: true,
            ..AppError::new(ErrorKind::Internal, message)
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Malformed | ErrorKind::UnknownType | ErrorKind::UnsupportedVersion => {
                StatusCode::BAD_REQUEST
            }
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn wire(&self) -> WireError {
        WireError::new(self.kind, self.message.clone())
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(e: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match e {
            DbError::Config(m) => AppError::config(m),
            DbError::Conflict(m) | DbError::Unmet(m) => AppError::conflict(m),
            other => AppError::internal(other.to_string()),
        }
    }
}

impl From<presence::PresenceError> for AppError {
    fn from(e: presence::PresenceError) -> Self {
        let w = WireError::from(e);
        AppError::new(w.kind, w.message)
    }
}

impl From<WireError> for AppError {
    fn from(w: WireError) -> Self {
        AppError::new(w.kind, w.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.wire() });
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(after.as_secs()),
            );
        }
        response
    }
}

//! The web admin console at `/admin`: the Svelte app from `ui/admin`, built into `ui/dist-admin`
//! and embedded in the binary. Any path under `/admin/` that is not a file is the app itself
//! (it routes on the `#` part).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../ui/dist-admin"]
#[allow_missing = true]
struct Assets;

/// The console's pages may load only from this server.
const POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn index() -> Response {
    file("index.html")
}

pub async fn asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    if Assets::get(&path).is_some() {
        file(&path)
    } else {
        file("index.html")
    }
}

fn file(path: &str) -> Response {
    let Some(content) = Assets::get(path) else {
        return (
            StatusCode::NOT_FOUND,
            "the admin console was not built into this server: run `npm --prefix ui run build`, then build the server again",
        )
            .into_response();
    };
    let mime = content.metadata.mimetype().to_string();
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        content.data.into_owned(),
    )
        .into_response()
}

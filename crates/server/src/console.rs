//! The web admin console at `/admin`: the Svelte app from `ui/admin`, built into `ui/dist-admin`
//! and embedded in the binary. Any path under `/admin/` that is not a file is the app itself
//! (it routes on the `#` part).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../ui/dist-admin"]
#[allow_missing = true]
struct Assets;

/// The console's pages may load only from this server, and connect only to it: its REST and its
/// WebSocket on the host the page was loaded from (`'self'` alone does not cover `wss:` in every
/// browser).
fn policy(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
    let sockets = match host {
        Some(h) => format!(" wss://{h} ws://{h}"),
        None => String::new(),
    };
    format!(
        "default-src 'self'; connect-src 'self'{sockets}; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

pub async fn index(headers: HeaderMap) -> Response {
    file("index.html", &headers)
}

pub async fn asset(
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    if Assets::get(&path).is_some() {
        file(&path, &headers)
    } else {
        file("index.html", &headers)
    }
}

fn file(path: &str, headers: &HeaderMap) -> Response {
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
                HeaderValue::from_str(&policy(headers))
                    .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            ),
        ],
        content.data.into_owned(),
    )
        .into_response()
}

/// On every answer, the API's and the console's: never framed (clickjacking), no address leaked
/// to other sites in `Referer`, and no content-type sniffing (a JSON body read as a page).
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

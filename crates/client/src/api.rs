//! The REST calls the client makes: sign in, sign out, the self view and the explanation.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("{message}")]
    Refused {
        status: u16,
        kind: String,
        message: String,
    },
}

pub struct Api {
    server: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &str) -> Api {
        Api {
            server: server.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("an HTTP client builds"),
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let r = req.send().await.map_err(|e| ApiError::Unreachable {
            server: self.server.clone(),
            detail: e.to_string(),
        })?;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            return Err(ApiError::Refused {
                status,
                kind: body["error"]["kind"].as_str().unwrap_or("internal").into(),
                message: body["error"]["message"]
                    .as_str()
                    .unwrap_or("the server refused the request")
                    .into(),
            });
        }
        Ok(body)
    }

    /// Signs in; returns the device token.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device: &str,
    ) -> Result<String, ApiError> {
        let body = serde_json::json!({"email": email, "password": password, "device": device});
        let v = self
            .call(
                self.http
                    .post(format!("{}/api/v1/sessions", self.server))
                    .json(&body),
            )
            .await?;
        Ok(v["token"].as_str().unwrap_or_default().to_string())
    }

    pub async fn get(&self, token: &str, path: &str) -> Result<Value, ApiError> {
        self.call(
            self.http
                .get(format!("{}/api/v1{path}", self.server))
                .bearer_auth(token),
        )
        .await
    }

    pub async fn put(&self, token: &str, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(
            self.http
                .put(format!("{}/api/v1{path}", self.server))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), ApiError> {
        self.call(
            self.http
                .delete(format!("{}/api/v1/sessions/current", self.server))
                .bearer_auth(token),
        )
        .await
        .map(|_| ())
    }
}

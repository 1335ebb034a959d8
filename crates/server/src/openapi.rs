//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`. Written out here, next to the
//! routes; a test checks that every route is described and nothing else is.

use serde_json::{json, Value};

/// Every (method, path) this document describes, as the router spells them.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("get", "/ws"),
    ("post", "/sessions"),
    ("delete", "/sessions/current"),
    ("get", "/me"),
    ("get", "/me/explain"),
    ("get", "/me/preferences"),
    ("put", "/me/preferences"),
    ("get", "/team"),
    ("get", "/statuses"),
    ("get", "/notifications"),
    ("post", "/notifications"),
    ("post", "/notifications/read"),
    ("post", "/notifications/dismiss"),
    ("post", "/notifications/read-all"),
    ("post", "/integrations/events"),
    ("post", "/routing/team-call"),
    ("post", "/routing/direct-call"),
    ("post", "/routing/assign"),
    ("post", "/admin/statuses"),
    ("put", "/admin/statuses/{id}"),
    ("put", "/admin/policy"),
    ("put", "/admin/quiet-hours"),
    ("put", "/admin/users/{user}/status"),
    ("delete", "/admin/users/{user}/status"),
];

fn op(summary: &str, security: &str, body: Option<Value>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: { "description": "done", "content": { "application/json": { "schema": { "type": "object" } } } },
            "default": { "$ref": "#/components/responses/Error" }
        }
    });
    if !security.is_empty() {
        o["security"] = json!([{ security: [] }]);
    }
    if let Some(schema) = body {
        o["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema } }
        });
    }
    o
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props, "additionalProperties": false })
}

pub fn document() -> Value {
    let s = |t: &str| json!({ "type": t });
    let seqs = obj(
        &["notifications"],
        json!({ "notifications": { "type": "array", "items": { "type": "integer" } } }),
    );
    let team = obj(&["team"], json!({ "team": s("string") }));
    let user = obj(
        &["user"],
        json!({ "user": { "type": "string", "description": "user id or email" } }),
    );
    let status = obj(
        &["name", "family"],
        json!({
            "id": { "type": "string", "description": "slug; from the name when left out" },
            "name": s("string"), "emoji": s("string"), "enabled": s("boolean"),
            "family": { "enum": ["available", "busy", "away", "do_not_disturb"] },
            "notifications": { "enum": ["deliver", "hold"] },
            "direct_call": { "enum": ["ring", "busy_action", "voicemail", "forward_to_phone"] },
            "team_calls": s("boolean"), "assignable": s("boolean")
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Presently server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Presence, notifications and routing. Real-time clients use the WebSocket at /api/v1/ws (docs/protocol.md). Errors are {\"error\": {\"kind\", \"message\"}}."
        },
        "servers": [{ "url": "/api/v1" }],
        "components": {
            "securitySchemes": {
                "device": { "type": "http", "scheme": "bearer", "description": "a device token (pd_…) from POST /sessions" },
                "admin": { "type": "http", "scheme": "bearer", "description": "the device token of an organisation administrator" },
                "apiKey": { "type": "http", "scheme": "bearer", "description": "an integration API key (pk_…) from `presently-server admin create-key`" }
            },
            "responses": {
                "Error": {
                    "description": "what went wrong and what to do",
                    "content": { "application/json": { "schema": obj(&["error"], json!({
                        "error": obj(&["kind", "message"], json!({
                            "kind": { "enum": ["too_large", "malformed", "unknown_type", "unsupported_version", "unauthorized", "forbidden", "not_found", "invalid", "rate_limited", "internal"] },
                            "message": s("string")
                        }))
                    })) } }
                }
            }
        },
        "paths": {
            "/openapi.json": { "get": op("This document", "", None, "200") },
            "/ws": { "get": op("WebSocket upgrade for real-time clients: first frame hello {protocol, token, device, resume_after}", "", None, "101") },
            "/sessions": { "post": op("Sign in with email and password: a token for this device", "", Some(obj(&["email", "password", "device"], json!({ "email": s("string"), "password": s("string"), "device": s("string") }))), "201") },
            "/sessions/current": { "delete": op("Sign this device out: the token stops working and the device is gone at once", "device", None, "204") },
            "/me": { "get": op("The signed-in user, their view and unread count", "device", None, "200") },
            "/me/explain": { "get": op("Why am I shown as this status: the winning claim and everything beneath it", "device", None, "200") },
            "/me/preferences": {
                "get": op("The person's own settings: time zone, schedule, idle threshold, urgent allow-list, call settings", "device", None, "200"),
                "put": op("Change them (idle_after in ms, 1 min to 4 h, or null for the organisation's)", "device", Some(json!({ "type": "object", "required": ["time_zone", "schedule", "idle_after", "breakthrough", "call"] })), "200")
            },
            "/team": { "get": op("Teammates as the presence panel shows them", "device", None, "200") },
            "/statuses": { "get": op("The statuses a person may choose in this organisation", "device", None, "200") },
            "/notifications": {
                "get": {
                    "summary": "The user's notifications after a cursor, oldest first",
                    "security": [{ "device": [] }],
                    "parameters": [
                        { "name": "after", "in": "query", "schema": s("integer") },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
                    ],
                    "responses": { "200": { "description": "a page; next_after is the cursor for the next" }, "default": { "$ref": "#/components/responses/Error" } }
                },
                "post": op("Notify a user (idempotent by external_id): stored, decided show or hold, delivered to every device", "apiKey", Some(obj(&["user", "title"], json!({
                    "user": { "type": "string", "description": "user id or email" },
                    "title": { "type": "string", "maxLength": 200 }, "body": { "type": "string", "maxLength": 4000 },
                    "sender": s("string"), "urgent": s("boolean"), "external_id": s("string"),
                    "link": { "type": "string", "format": "uri", "maxLength": 2048, "description": "where Open takes the person: an absolute http or https address" }
                }))), "201")
            },
            "/notifications/read": { "post": op("Mark read; every device of the user hears of it", "device", Some(seqs.clone()), "200") },
            "/notifications/dismiss": { "post": op("Dismiss; every device of the user hears of it", "device", Some(seqs), "200") },
            "/notifications/read-all": { "post": op("Mark everything read", "device", None, "200") },
            "/integrations/events": { "post": op("A call, meeting or wrap-up event for a user (idempotent by external_id)", "apiKey", Some(obj(&["user", "kind", "external_id"], json!({
                "user": s("string"),
                "kind": { "enum": ["call_started", "call_ended", "meeting_started", "meeting_ended", "wrap_up_closed"] },
                "external_id": s("string"),
                "until": { "type": "integer", "description": "planned end, ms since the epoch" }
            }))), "201") },
            "/routing/team-call": { "post": op("Which members a team call rings", "apiKey", Some(team.clone()), "200") },
            "/routing/direct-call": { "post": op("Ring, or the busy action and its target", "apiKey", Some(user), "200") },
            "/routing/assign": { "post": op("The next online, routable member, in a fair order (recorded)", "apiKey", Some(team), "200") },
            "/admin/statuses": { "post": op("Add a custom status", "admin", Some(status.clone()), "201") },
            "/admin/statuses/{id}": { "put": op("Change, enable or disable a custom status", "admin", Some(status), "200") },
            "/admin/policy": { "put": op("Idle, inactivity-offline and after-call-work timeouts (seconds; null turns one off)", "admin", Some(obj(&[], json!({
                "idle_after_secs": s("integer"), "offline_after_secs": { "type": ["integer", "null"] }, "after_call_work_secs": { "type": ["integer", "null"] }
            }))), "200") },
            "/admin/quiet-hours": { "put": op("Default quiet hours for members without their own", "admin", Some(obj(&["quiet_hours"], json!({
                "quiet_hours": { "type": "array", "items": obj(&["days", "start", "end"], json!({
                    "days": { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 6 }, "description": "0 = Monday" },
                    "start": { "type": "integer", "description": "minute of the day" },
                    "end": { "type": "integer", "description": "minute of the day" }
                })) }
            }))), "200") },
            "/admin/users/{user}/status": {
                "put": op("Override a member's status (above everything else)", "admin", Some(obj(&["status"], json!({ "status": s("string"), "until": s("integer") }))), "200"),
                "delete": op("End an override", "admin", None, "200")
            }
        }
    })
}

//! The person's own presence: what is shown, why, and the changes they make (status,
//! pause, message). Each change goes through `AppState::apply`, whose reply is the state after it.

use crate::state::{AppState, CommandError, Snapshot};
use presence::{Change, ClearAfter, Emoji, MessageText, StatusId, Timestamp};
use protocol::ipc::CommandErrorKind;
use tauri::State;

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> Snapshot {
    state.snapshot()
}

#[tauri::command]
pub async fn explain(state: State<'_, AppState>) -> Result<presence::Explanation, CommandError> {
    match state.remote.get() {
        Some(r) => r.api.explain(&r.token).await.map_err(|e| CommandError {
            kind: CommandErrorKind::Offline,
            message: format!("{e}: the explanation needs the server"),
        }),
        None => Ok(state.explain()),
    }
}

/// `until` in milliseconds since the epoch, or none for "until I change it".
#[tauri::command]
pub async fn set_status(
    state: State<'_, AppState>,
    status: String,
    until: Option<i64>,
) -> Result<Snapshot, CommandError> {
    let status: StatusId = status.parse()?;
    state
        .apply(Change::SetStatus {
            status,
            until: until.map(Timestamp),
        })
        .await
}

/// Closes the wrap-up: After call work ends now.
#[tauri::command]
pub async fn close_wrap_up(state: State<'_, AppState>) -> Result<Snapshot, CommandError> {
    state.apply(Change::CloseWrapUp).await
}

/// Pause notifications until a time (ms since the epoch); none resumes.
#[tauri::command]
pub async fn pause(
    state: State<'_, AppState>,
    until: Option<i64>,
) -> Result<Snapshot, CommandError> {
    state.apply(Change::pause(until.map(Timestamp))).await
}

/// A status message; `clear_after` is never, 30m, 1h, 4h, today or week.
#[tauri::command]
pub async fn set_message(
    state: State<'_, AppState>,
    text: String,
    emoji: Option<String>,
    clear_after: String,
) -> Result<(), CommandError> {
    let text = text.trim();
    if text.is_empty() {
        state.apply(Change::ClearMessage).await?;
        return Ok(());
    }
    let clear_after = match clear_after.as_str() {
        "30m" => ClearAfter::ThirtyMinutes,
        "1h" => ClearAfter::OneHour,
        "4h" => ClearAfter::FourHours,
        "today" => ClearAfter::Today,
        "week" => ClearAfter::ThisWeek,
        _ => ClearAfter::Never,
    };
    state
        .apply(Change::SetMessage {
            text: MessageText::parse(text)?,
            emoji: emoji
                .filter(|e| !e.trim().is_empty())
                .map(Emoji::parse)
                .transpose()?,
            clear_after,
        })
        .await?;
    Ok(())
}

//! The audit log, page by page.

use super::*;

impl App {
    /// A page of the audit log, newest first.
    pub async fn audit(
        &self,
        org: &str,
        before: Option<i64>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<rest::AuditPage, AppError> {
        let limit = limit.clamp(1, 500);
        let rows = self
            .db
            .audit(org, before.map(|at| (at, before_id)), limit)
            .await?;
        let last = rows.last().filter(|_| rows.len() == limit as usize);
        let next_before = last.map(|r| presence::Timestamp(r.at));
        let next_before_id = last.map(|r| r.id.clone());
        let entries = rows
            .into_iter()
            .map(|r| rest::AuditEntry {
                id: r.id,
                at: presence::Timestamp(r.at),
                actor_id: r.actor_id.and_then(|a| UserId::parse(a).ok()),
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
            })
            .collect();
        Ok(rest::AuditPage {
            entries,
            next_before,
            next_before_id,
        })
    }
}

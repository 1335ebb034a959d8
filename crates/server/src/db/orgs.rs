//! Organisations (with their rules: catalog, policy, quiet hours), teams and memberships.

use super::{json, parse, Db, DbError};
use presence::{Catalog, OrgPolicy, WeeklyWindow};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub policy: OrgPolicy,
    pub catalog: Catalog,
    pub quiet_hours: Vec<WeeklyWindow>,
    /// Default Do not disturb windows, for members who kept them.
    pub do_not_disturb: Vec<WeeklyWindow>,
}

impl Db {
    pub async fn create_org(&self, id: &str, name: &str, now: i64) -> Result<OrgRow, DbError> {
        let org = OrgRow {
            id: id.into(),
            name: name.into(),
            policy: OrgPolicy::default(),
            catalog: Catalog::with_default_custom(),
            quiet_hours: Vec::new(),
            do_not_disturb: Vec::new(),
        };
        sqlx::query(
            "INSERT INTO orgs (id, name, policy, catalog, quiet_hours, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&org.id)
        .bind(&org.name)
        .bind(json(&org.policy))
        .bind(json(&org.catalog))
        .bind(json(&org.quiet_hours))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(org)
    }

    pub async fn orgs(&self) -> Result<Vec<OrgRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, name, policy, catalog, quiet_hours, dnd_schedule FROM orgs ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(org_row).collect()
    }

    pub async fn org_by_name(&self, name: &str) -> Result<Option<OrgRow>, DbError> {
        let row = sqlx::query(
            "SELECT id, name, policy, catalog, quiet_hours, dnd_schedule FROM orgs WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(org_row).transpose()
    }

    pub async fn save_org_rules(&self, org: &OrgRow) -> Result<(), DbError> {
        sqlx::query("UPDATE orgs SET policy = $1, catalog = $2, quiet_hours = $3 WHERE id = $4")
            .bind(json(&org.policy))
            .bind(json(&org.catalog))
            .bind(json(&org.quiet_hours))
            .bind(&org.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_team(
        &self,
        id: &str,
        org_id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(org_id)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every team: (id, org, name).
    pub async fn teams(&self) -> Result<Vec<(String, String, String)>, DbError> {
        let rows = sqlx::query("SELECT id, org_id, name FROM teams ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Every membership: (team, user).
    pub async fn memberships(&self) -> Result<Vec<(String, String)>, DbError> {
        let rows =
            sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn add_member(&self, team_id: &str, user_id: &str) -> Result<(), DbError> {
        sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
            .bind(team_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn org_row(r: &AnyRow) -> Result<OrgRow, DbError> {
    Ok(OrgRow {
        id: r.get(0),
        name: r.get(1),
        policy: parse(&r.get::<String, _>(2), "organisation policy")?,
        catalog: parse(&r.get::<String, _>(3), "status catalog")?,
        quiet_hours: parse(&r.get::<String, _>(4), "quiet hours")?,
        do_not_disturb: parse(&r.get::<String, _>(5), "Do not disturb schedule")?,
    })
}

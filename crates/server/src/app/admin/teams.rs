//! Teams and who is in them.

use super::*;

impl App {
    pub async fn create_team_by(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
    ) -> Result<String, AppError> {
        self.org(org)?;
        let name = checked_name(name, "team name")?;
        let id = auth::new_id("t");
        self.record(
            org,
            actor,
            "team.create",
            format!("{id} \"{name}\""),
            String::new(),
            vec![db::insert_team(id.clone(), org, name, self.clock.now().0)],
        )
        .await?;
        Ok(id)
    }

    pub async fn rename_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        name: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let name = checked_name(name, "team name")?;
        self.record(
            org,
            actor,
            "team.rename",
            format!("{team} \"{}\"", entry.name),
            format!("→ \"{name}\""),
            vec![db::rename_team(name, team)],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_team(&self, actor: &Actor, org: &str, team: &str) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        self.record(
            org,
            actor,
            "team.delete",
            format!("{team} \"{}\"", entry.name),
            format!("{} members", entry.members.len()),
            vec![db::delete_members_of_team(team), db::delete_team(team)],
        )
        .await?;
        Ok(())
    }

    pub async fn add_to_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let slot = self.user_in_org(org, user)?;
        if entry.members.contains(&slot.id) {
            return Err(AppError::conflict(format!(
                "{} is in {} already",
                slot.email, entry.name
            )));
        }
        self.record(
            org,
            actor,
            "team.add_member",
            format!("{team} \"{}\"", entry.name),
            format!("{} <{}>", slot.id.as_str(), slot.email),
            vec![add_member(team, slot.id.as_str())
                .on_conflict(format!("{} is in {} already", slot.email, entry.name))],
        )
        .await?;
        Ok(())
    }

    pub async fn remove_from_team(
        &self,
        actor: &Actor,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<(), AppError> {
        let entry = self.team_in_org(org, team)?;
        let slot = self.user_in_org(org, user)?;
        if !entry.members.contains(&slot.id) {
            return Err(AppError::not_found(format!(
                "{} is not in {}",
                slot.email, entry.name
            )));
        }
        self.record(
            org,
            actor,
            "team.remove_member",
            format!("{team} \"{}\"", entry.name),
            format!("{} <{}>", slot.id.as_str(), slot.email),
            vec![db::remove_member(team, slot.id.as_str())],
        )
        .await?;
        Ok(())
    }

    pub fn admin_teams(&self, org: &str) -> Vec<rest::AdminTeam> {
        self.teams_of_org(org)
            .into_iter()
            .map(|(id, t)| rest::AdminTeam {
                id,
                name: t.name,
                members: t.members,
            })
            .collect()
    }
}

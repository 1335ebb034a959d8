//! People's photos: set and removed by the person or an administrator of their organisation,
//! served to their organisation only. A change is an administrative change (audited, every
//! node reloads), so teammates and boards get the new version in a fresh snapshot at once.

use super::{Actor, App};
use crate::db;
use crate::error::AppError;
use crate::faces::{self, Face, FaceError};
use base64::Engine as _;
use std::time::Duration;

/// Photos decoded at once: each may hold a few hundred MiB while it is turned into sizes.
static PREPARING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Photo changes a person may make in a burst, then one per [`CHANGE_EVERY`].
const CHANGE_BURST: u32 = 10;
const CHANGE_EVERY: Duration = Duration::from_secs(6 * 60);

pub(crate) fn limiter(clock: clock::SharedClock) -> crate::limits::Keyed<String> {
    crate::limits::per_person(clock, CHANGE_BURST, CHANGE_EVERY)
}

impl App {
    /// Sets `user`'s photo from an uploaded image (PNG, JPEG or WebP), or removes it (`None`),
    /// as `actor`: the person themselves or an administrator of `org`. Returns the photo stored.
    pub async fn set_face(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        upload: Option<Vec<u8>>,
    ) -> Result<Option<Face>, AppError> {
        let slot = self.user_in_org(org, user)?;
        crate::limits::count(
            &self.face_changes,
            slot.id.as_str(),
            &self.clock,
            "this photo was changed too often",
        )?;
        let face = match upload {
            Some(bytes) => Some({
                let _turn = PREPARING
                    .acquire()
                    .await
                    .map_err(|e| AppError::internal(e.to_string()))?;
                tokio::task::spawn_blocking(move || faces::prepare(&bytes))
                    .await
                    .map_err(|e| AppError::internal(e.to_string()))?
                    .map_err(refused)?
            }),
            None => None,
        };
        let id = slot.id.as_str();
        let mut statements = vec![db::delete_avatars_of(id)];
        for (size, jpeg) in face.iter().flat_map(|f| &f.sizes) {
            statements.push(db::insert_avatar(
                id,
                *size,
                base64::engine::general_purpose::STANDARD.encode(jpeg),
            ));
        }
        statements.push(db::set_avatar(id, face.as_ref().map(|f| f.version.clone())));
        let (action, detail) = match &face {
            Some(f) => ("user.photo_set", format!("photo {}", f.version)),
            None => ("user.photo_remove", "initials shown".to_string()),
        };
        self.record(
            org,
            actor,
            action,
            format!("{id} <{}>", slot.email),
            detail,
            statements,
        )
        .await?;
        tracing::info!(user = id, photo = ?face.as_ref().map(|f| &f.version), "photo changed");
        Ok(face)
    }

    /// One size of `user`'s photo (the smallest stored at least `size` pixels) with its
    /// version, for a person of `org`; someone of another organisation is not found.
    pub async fn face(
        &self,
        org: &str,
        user: &str,
        size: Option<u32>,
    ) -> Result<(String, u32, Vec<u8>), AppError> {
        let slot = self.user_in_org(org, user)?;
        let size = faces::size_for(size);
        let none =
            || AppError::not_found(format!("{} has no photo: show their initials", slot.name));
        if slot.avatar.is_none() {
            return Err(none());
        }
        let (version, jpeg) = self
            .db
            .avatar(slot.id.as_str(), size)
            .await?
            .ok_or_else(none)?;
        Ok((version, size, jpeg))
    }
}

fn refused(e: FaceError) -> AppError {
    match e {
        FaceError::TooLarge(_) => AppError::new(protocol::ErrorKind::TooLarge, e.to_string()),
        _ => AppError::invalid(e.to_string()),
    }
}

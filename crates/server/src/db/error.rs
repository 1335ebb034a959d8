//! What storage can fail with. The application layer turns these into what a caller is told;
//! the details of a database failure are logged, not sent.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be opened or brought up to date: the server cannot start.
    #[error("{0}")]
    Config(String),
    /// A row clashes with one that exists (an email taken).
    #[error("{0}")]
    Conflict(String),
    /// A condition the change depended on no longer held when it was stored (a code used or
    /// withdrawn meanwhile, a password changed): nothing was changed.
    #[error("{0}")]
    Unmet(String),
    /// A stored value no longer decodes.
    #[error(
        "the stored {what} cannot be read ({detail}): the database was changed by something else"
    )]
    Corrupt { what: String, detail: String },
    #[error("the database is not reachable; try again shortly")]
    Unreachable(#[source] sqlx::Error),
    #[error("the server's disk is full; nothing was changed")]
    DiskFull(#[source] sqlx::Error),
    #[error("the database refused the change; nothing was changed")]
    Refused(#[source] sqlx::Error),
}

impl DbError {
    pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> DbError {
        DbError::Corrupt {
            what: what.to_string(),
            detail: detail.to_string(),
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => DbError::Unreachable(e),
            // PostgreSQL going away under a query (a restart, a failover: class 57 "operator
            // intervention", class 08 "connection exception"): try again shortly, as for a
            // database that does not answer.
            sqlx::Error::Database(d)
                if d.code()
                    .is_some_and(|c| c.starts_with("57") || c.starts_with("08")) =>
            {
                DbError::Unreachable(e)
            }
            sqlx::Error::Database(d) if d.message().contains("full") => DbError::DiskFull(e),
            _ => DbError::Refused(e),
        }
    }
}

//! The server end to end: real sockets on port 0, a real SQLite file and a real PostgreSQL
//! database, the server on a manual clock and a recording broker. Every test runs on both
//! databases (`topic::sqlite::…` and `topic::postgres::…`); one file per topic.

mod support;

/// Runs each named test once on SQLite and once on PostgreSQL.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Postgres).await
                }
            )*
        }
    };
}

mod account_rules;
mod accounts;
mod admin;
mod adversarial;
mod backup;
mod bounds;
mod broker;
mod bus;
mod caldav;
mod calendars;
mod cluster;
mod edges;
mod faces;
mod faults;
mod favourites;
mod hostile_connections;
mod https;
mod mail;
mod metrics;
mod nodes;
mod notifications;
mod policies;
mod routing;
mod scripts;
mod sessions;
mod setup;
mod status;
mod timers;
mod upgrade;
mod webhooks;

//! `presently-server admin backup` and `admin restore`, the real binary against a serving
//! server's SQLite file: backed up while notifications keep arriving, restored into a fresh
//! server's place (the database it replaces kept beside it), refused while a server answers;
//! the restored server has everything acknowledged before the backup began, and a client
//! resumes from its cursor there. PostgreSQL is told to use pg_dump.

use crate::support::*;
use presence::{Change, StatusId};
use protocol::{ClientMessage, NotificationSeq, ServerMessage};
use serde_json::json;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

on_both_databases!(a_backup_taken_while_serving_restores_everything_acknowledged_before_it,);

fn admin(database_url: &str, listen: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_presently-server"))
        .args(["--database-url", database_url, "--listen", listen, "admin"])
        .args(args)
        .output()
        .expect("presently-server runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn a_backup_taken_while_serving_restores_everything_acknowledged_before_it(b: Backend) {
    let Some(mut f) = Fixture::start(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("presently-backup.db");
    let file_arg = file.to_str().unwrap().to_string();
    let free = "127.0.0.1:1";
    if matches!(b, Backend::Postgres) {
        let (ok, said) = admin(&f.db.url, free, &["backup", &file_arg]);
        assert!(!ok && said.contains("pg_dump"), "{said}");
        let (ok, said) = admin(&f.db.url, free, &["restore", &file_arg]);
        assert!(!ok && said.contains("pg_restore"), "{said}");
        f.finish().await;
        return;
    }

    // Bea is Busy, and has seen notifications up to a cursor.
    let bea_token = f.token(&f.bea, "bea-desk").await;
    let mut bea = f.online(&f.bea, "bea-desk").await;
    bea.request(|request| ClientMessage::Change {
        request,
        change: Change::SetStatus {
            status: StatusId::BUSY,
            until: None,
        },
    })
    .await;
    let bea_id = f.bea.as_str().to_string();
    let notify = move |http: reqwest::Client, url: String, key: String, n: usize| {
        let user = bea_id.clone();
        async move {
            let r = http
            .post(url)
            .bearer_auth(key)
            .json(&json!({"user": user, "title": format!("Build {n}"), "external_id": format!("ci-{n}")}))
            .send()
            .await
            .ok()?;
            if r.status() != 201 {
                return None;
            }
            let v: serde_json::Value = r.json().await.ok()?;
            v["notification"]["seq"].as_u64()
        }
    };
    let url = f.url("/notifications");
    let cursor = notify(f.http.clone(), url.clone(), f.key.clone(), 0)
        .await
        .expect("the first notification");

    // Notifications keep arriving while the backup is taken.
    let acked: Arc<Mutex<Vec<(u64, std::time::Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (acked, stop, http, url, key, notify) = (
            acked.clone(),
            stop.clone(),
            f.http.clone(),
            url.clone(),
            f.key.clone(),
            notify.clone(),
        );
        async move {
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                if let Some(seq) = notify(http.clone(), url.clone(), key.clone(), n).await {
                    acked.lock().unwrap().push((seq, std::time::Instant::now()));
                }
                n += 1;
            }
        }
    });
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let began = std::time::Instant::now();
    let (url_db, backup_file) = (f.db.url.clone(), file_arg.clone());
    let (ok, said) =
        tokio::task::spawn_blocking(move || admin(&url_db, free, &["backup", &backup_file]))
            .await
            .unwrap();
    assert!(ok, "{said}");
    assert!(said.contains("backed up"), "{said}");
    while acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at > began)
        .count()
        < 5
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let before: Vec<u64> = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(seq, _)| *seq)
        .collect();
    assert!(before.len() >= 20);
    // A backup never overwrites.
    let (ok, said) = admin(&f.db.url, free, &["backup", &file_arg]);
    assert!(!ok && said.contains("exists"), "{said}");

    // Restoring while a server answers on the address is refused, and changes nothing.
    let target_dir = tempfile::tempdir().unwrap();
    let target = target_dir.path().join("server.db");
    let target_url = format!("sqlite://{}", target.display());
    std::fs::write(&target, b"the database being replaced").unwrap();
    let serving = f.addr().to_string();
    let (ok, said) = admin(&target_url, &serving, &["restore", &file_arg]);
    assert!(!ok && said.contains("stop it"), "{said}");
    // Something that is not a database changes nothing either.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let (ok, said) = admin(&target_url, free, &["restore", junk.to_str().unwrap()]);
    assert!(!ok && said.contains("nothing was changed"), "{said}");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"the database being replaced"
    );
    // Restored: the database it replaced is kept beside it.
    let (ok, said) = admin(&target_url, free, &["restore", &file_arg]);
    assert!(ok, "{said}");
    assert!(said.contains("people"), "{said}");
    let kept: Vec<_> = std::fs::read_dir(target_dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("before-restore"))
        .collect();
    assert_eq!(kept.len(), 1, "{said}");
    assert_eq!(
        std::fs::read(kept[0].path()).unwrap(),
        b"the database being replaced"
    );
    drop(bea);
    f.stop().await;

    // A fresh server on the restored database: bea's token works, she is Busy, and resuming
    // from her cursor brings every notification acknowledged before the backup began.
    let restored = start(&target_url, &f.clock, &f.broker).await;
    let mut again = Client::connect(
        restored.addr,
        &bea_token,
        "bea-desk",
        Some(NotificationSeq(cursor)),
    )
    .await;
    assert_eq!(
        again.last_self.as_ref().map(|v| v.status.status.clone()),
        Some(StatusId::BUSY),
        "bea's status as stored before the backup"
    );
    let last = *before.iter().max().unwrap();
    let mut seen = Vec::new();
    while seen.last().is_none_or(|s| *s < last) {
        let ServerMessage::Notification { notification } = again
            .until("the notifications up to the backup", |m| {
                matches!(m, ServerMessage::Notification { .. })
            })
            .await
        else {
            unreachable!()
        };
        seen.push(notification.seq.0);
    }
    for seq in &before {
        assert!(
            seen.contains(seq),
            "notification {seq} acknowledged before the backup is missing: {seen:?}"
        );
    }
    assert!(
        !seen.contains(&cursor),
        "the cursor itself is not sent again"
    );
    restored.stop().await;
    f.finish().await;
}

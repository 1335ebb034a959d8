//! Demo mode: an organisation, a team and simulated teammates whose days look real (calls,
//! meetings, lunch, stepping away, focus time in Do not disturb), who now and then send the demo
//! user a notification. Everything goes through the same engine and storage as real people.

use crate::app::App;
use crate::db::Role;
use crate::error::AppError;
use presence::{
    ClearAfter, CustomStatusId, DeviceAbout, DeviceActivity, DeviceId, DeviceReport, Emoji,
    MessageText, Platform, Span, StatusId, Timestamp, UserId,
};
use protocol::rest::{IntegrationKind, SendNotification as NotificationRequest};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const ORG_NAME: &str = "Demo organisation";
pub const EMAIL: &str = "demo@presently.local";
pub const PASSWORD: &str = "presently";

pub struct Demo {
    pub email: &'static str,
    pub password: &'static str,
    pub org: String,
    pub user: UserId,
}

const TEAMMATES: &[(&str, &str, &str)] = &[
    ("Amara Okafor", "amara@presently.local", "Africa/Lagos"),
    ("Lukas Becker", "lukas@presently.local", "Europe/Berlin"),
    ("Sofia Marin", "sofia@presently.local", "Europe/Madrid"),
    ("Kenji Watanabe", "kenji@presently.local", "Asia/Tokyo"),
    ("Priya Raman", "priya@presently.local", "Asia/Kolkata"),
    ("Mateo Silva", "mateo@presently.local", "America/Sao_Paulo"),
    ("Grace Liu", "grace@presently.local", "America/Los_Angeles"),
    ("Noah Brennan", "noah@presently.local", "Europe/Dublin"),
];

const DEVICE: &str = "demo-sim";

/// Creates the demo organisation on first run; later runs find it again.
pub async fn seed(app: &Arc<App>) -> Result<Demo, AppError> {
    app.demo.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(org) = app.db.org_by_name(ORG_NAME).await? {
        let user = app
            .db
            .user_by_email(EMAIL)
            .await?
            .ok_or_else(|| AppError::internal("the demo organisation has no demo user"))?;
        return Ok(Demo {
            email: EMAIL,
            password: PASSWORD,
            org: org.id,
            user: UserId::parse(user.id)?,
        });
    }
    let org = app.create_org(ORG_NAME).await?;
    let team = app.create_team(&org.id, "Product team").await?;
    let teams = [team];
    let user = app
        .create_user(
            &org.id,
            EMAIL,
            "You (demo)",
            PASSWORD,
            Role::Admin,
            "UTC",
            &teams,
        )
        .await?;
    for (n, (name, email, tz)) in TEAMMATES.iter().enumerate() {
        let id = app
            .create_user(&org.id, email, name, PASSWORD, Role::Member, tz, &teams)
            .await?;
        // Half of them with a photo (a drawn portrait), half with initials, as in a real team.
        if n % 2 == 0 {
            app.set_face(
                &crate::app::Actor::command_line(),
                &org.id,
                id.as_str(),
                Some(portrait(n as u32)),
            )
            .await?;
        }
    }
    tracing::info!(org = %org.id, "demo organisation created");
    Ok(Demo {
        email: EMAIL,
        password: PASSWORD,
        org: org.id,
        user,
    })
}

/// A demo person's photo: a head and shoulders in a lighter tone on a soft gradient, as a PNG
/// (the server re-encodes it like any upload).
fn portrait(seed: u32) -> Vec<u8> {
    const TONES: [([u8; 3], [u8; 3]); 4] = [
        ([94, 129, 172], [222, 196, 170]),
        ([120, 94, 150], [240, 205, 180]),
        ([70, 130, 110], [190, 140, 110]),
        ([170, 100, 80], [120, 85, 70]),
    ];
    let (back, skin) = TONES[(seed / 2) as usize % TONES.len()];
    let size = 256u32;
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let (fx, fy) = (x as f32 / size as f32, y as f32 / size as f32);
        let head = ((fx - 0.5).powi(2) + ((fy - 0.4) / 1.15).powi(2)).sqrt() < 0.2;
        let shoulders = fy > 0.72 && ((fx - 0.5) / 1.6).powi(2) + (fy - 1.05).powi(2) < 0.12;
        if head {
            image::Rgb(skin)
        } else if shoulders {
            image::Rgb([back[0] / 2 + 20, back[1] / 2 + 20, back[2] / 2 + 20])
        } else {
            let shade = 1.0 - 0.35 * fy;
            image::Rgb(back.map(|c| (c as f32 * shade + 60.0 * (1.0 - shade)) as u8))
        }
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("a PNG in memory");
    png
}

#[derive(Clone, Copy, PartialEq)]
enum Doing {
    Working,
    Call(u64),
    Meeting(u64),
    Idle,
}

const MESSAGES: &[(&str, &str)] = &[
    ("Heads down on the release", "🚀"),
    ("Reviewing designs", "🎨"),
    ("Back at 2", "🕑"),
    ("Customer workshop today", "🤝"),
    ("Writing the quarterly plan", "📝"),
];

const NOTES: &[(&str, &str)] = &[
    (
        "Quick question",
        "Do you have a minute to look at the release notes?",
    ),
    (
        "Review requested",
        "Could you review the onboarding flow changes?",
    ),
    ("Standup moved", "Standup is at 10:15 today."),
    (
        "Customer call",
        "The customer asked for a follow-up on Thursday.",
    ),
    ("Lunch?", "A few of us are going for lunch at 12:30."),
];

/// The page a demo notification's "Open" shows: the note in full, served by this server at
/// `/demo/notes/{n}`, so "Open" has somewhere real to go without any other system.
pub async fn note_page(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    axum::extract::Path(n): axum::extract::Path<String>,
) -> Result<axum::response::Html<String>, AppError> {
    // Only a demo server has demo pages; elsewhere the path does not exist.
    if !app.demo.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(AppError::not_found(
            "no such endpoint: see /api/v1/openapi.json",
        ));
    }
    let missing = || {
        AppError::not_found(format!(
            "there is no demo note {}: they are numbered 0 to {}",
            n.chars().take(20).collect::<String>(),
            NOTES.len() - 1
        ))
    };
    let (title, body) = n
        .parse::<usize>()
        .ok()
        .and_then(|i| NOTES.get(i))
        .ok_or_else(missing)?;
    Ok(axum::response::Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title>\
         <body style=\"font-family:system-ui;max-width:40em;margin:3em auto\">\
         <p>Presently demo: where the notification's \"Open\" takes you (a chat thread, a ticket, \
         a call) in a real setup.</p><h1>{title}</h1><p>{body}</p></body></html>"
    )))
}

/// Keeps the simulated teammates busy until the server stops. `base` is this server's own
/// address (`http://127.0.0.1:7878`), for the notes' links.
pub async fn run(app: Arc<App>, base: String) {
    let mut rng = rand::rngs::StdRng::from_entropy();
    let Ok(Some(demo_user)) = app.db.user_by_email(EMAIL).await else {
        tracing::warn!("demo mode: no demo user");
        return;
    };
    let org = demo_user.org_id.clone();
    let mut mates: Vec<UserId> = Vec::new();
    for (_, email, _) in TEAMMATES {
        if let Ok(Some(u)) = app.db.user_by_email(email).await {
            if let Ok(id) = UserId::parse(u.id) {
                mates.push(id);
            }
        }
    }
    let device = DeviceId::parse(DEVICE).expect("valid device id");
    let mut doing: HashMap<UserId, Doing> = HashMap::new();
    // Everyone starts at their desk (one sits out, to show Offline).
    for m in mates.iter().skip(1) {
        report(&app, m, &device, DeviceActivity::Active).await;
        doing.insert(m.clone(), Doing::Working);
    }
    let mut shutdown = app.shutdown.clone();
    let mut tick = 0u64;
    let mut next_id = app.clock.now().0 as u64;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(4)) => {}
        }
        tick += 1;
        // Keep the simulated devices' leases alive.
        if tick.is_multiple_of(5) {
            for (m, d) in &doing {
                let activity = match d {
                    Doing::Idle => DeviceActivity::Idle {
                        idle_for: Span::minutes(10),
                    },
                    _ => DeviceActivity::Active,
                };
                report(&app, m, &device, activity).await;
            }
        }
        if tick.is_multiple_of(10) {
            let n = rng.gen_range(0..NOTES.len());
            let (title, body) = NOTES[n];
            let sender = mates.choose(&mut rng).map(|m| m.as_str().to_string());
            let _ = app
                .notify(
                    &org,
                    NotificationRequest {
                        user: demo_user.id.clone(),
                        title: title.to_string(),
                        body: body.to_string(),
                        sender,
                        urgent: false,
                        external_id: None,
                        link: Some(format!("{base}/demo/notes/{n}")),
                    },
                )
                .await;
        }
        let Some(who) = doing
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .choose(&mut rng)
            .cloned()
        else {
            continue;
        };
        let now_doing = doing[&who];
        next_id += 1;
        let ext = format!("demo-{next_id}");
        let result = match (now_doing, rng.gen_range(0..10)) {
            (Doing::Call(id), _) => {
                doing.insert(who.clone(), Doing::Working);
                event(
                    &app,
                    &org,
                    &who,
                    IntegrationKind::CallEnded,
                    &format!("demo-{id}"),
                )
                .await
            }
            (Doing::Meeting(id), _) => {
                doing.insert(who.clone(), Doing::Working);
                event(
                    &app,
                    &org,
                    &who,
                    IntegrationKind::MeetingEnded,
                    &format!("demo-{id}"),
                )
                .await
            }
            (Doing::Idle, _) => {
                doing.insert(who.clone(), Doing::Working);
                report(&app, &who, &device, DeviceActivity::Active).await;
                Ok(())
            }
            (Doing::Working, 0 | 1) => {
                doing.insert(who.clone(), Doing::Call(next_id));
                event(&app, &org, &who, IntegrationKind::CallStarted, &ext).await
            }
            (Doing::Working, 2) => {
                doing.insert(who.clone(), Doing::Meeting(next_id));
                event(&app, &org, &who, IntegrationKind::MeetingStarted, &ext).await
            }
            (Doing::Working, 3) => {
                doing.insert(who.clone(), Doing::Idle);
                report(
                    &app,
                    &who,
                    &device,
                    DeviceActivity::Idle {
                        idle_for: Span::minutes(10),
                    },
                )
                .await;
                Ok(())
            }
            (Doing::Working, 4) => choose(&app, &who, StatusId::DND, Some(Span::minutes(2))).await,
            (Doing::Working, 5) => {
                let lunch = StatusId::Custom(CustomStatusId::parse("lunch").expect("valid"));
                choose(&app, &who, lunch, Some(Span::minutes(3))).await
            }
            (Doing::Working, 6) => choose(&app, &who, StatusId::BUSY, Some(Span::minutes(2))).await,
            (Doing::Working, 7) => {
                let (text, emoji) = MESSAGES.choose(&mut rng).expect("non-empty");
                app.mutate(&who, None, |p, rules, now| {
                    p.set_message(
                        rules,
                        now,
                        MessageText::parse(*text)?,
                        Some(Emoji::parse(*emoji)?),
                        ClearAfter::At(Timestamp(now.0 + 5 * 60_000)),
                    )
                    .map_err(AppError::from)
                })
                .await
                .map(|_| ())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "demo step skipped");
        }
    }
}

async fn report(app: &App, user: &UserId, device: &DeviceId, activity: DeviceActivity) {
    let report = DeviceReport {
        device: device.clone(),
        seq: app.clock.now().0 as u64,
        activity,
        in_call: false,
    };
    // Some teammates are on their phones, so the panel shows the marks of both kinds.
    let on_phone = user.as_str().bytes().map(u32::from).sum::<u32>() % 3 == 0;
    let about = DeviceAbout {
        name: None,
        platform: if on_phone {
            Platform::Android
        } else {
            Platform::Linux
        },
    };
    let _ = app
        .mutate(user, None, move |p, rules, now| {
            p.report(rules, now, &report);
            p.describe_device(&report.device, &about);
            Ok(())
        })
        .await;
}

async fn event(
    app: &App,
    org: &str,
    user: &UserId,
    kind: IntegrationKind,
    ext: &str,
) -> Result<(), AppError> {
    app.integration_event(org, user.as_str(), kind, ext, None)
        .await
        .map(|_| ())
}

async fn choose(
    app: &App,
    user: &UserId,
    status: StatusId,
    for_: Option<Span>,
) -> Result<(), AppError> {
    app.mutate(user, None, move |p, rules, now| {
        let until = for_.map(|s| now.plus(s));
        p.choose(rules, now, status.clone(), until)
            .map(|_| ())
            .map_err(AppError::from)
    })
    .await
    .map(|_| ())
}

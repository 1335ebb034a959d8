//! A person's presence in other systems' words, so a bridge to Microsoft Teams (Graph), Matrix or
//! XMPP is a loop over `GET /integrations/presence`: the mapping lives here, once, and
//! docs/integrations.md shows it as a table. Built from what teammates see (Invisible is
//! Offline), never from the person's own view.

use presence::{Family, StatusId, TeamView};
use serde::{Deserialize, Serialize};

/// Microsoft Graph's `presence` resource: `availability` and `activity`, with Graph's own
/// values (`Available`, `Busy`, `InAMeeting`, …).
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphPresence {
    pub availability: String,
    pub activity: String,
}

/// Matrix's `m.presence`: `online`, `unavailable` or `offline`, the status message, and whether
/// the person is at their device now.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixPresence {
    pub presence: String,
    pub status_msg: Option<String>,
    pub currently_active: bool,
}

/// XMPP's `<presence/>` (RFC 6121): `available` false is `type="unavailable"`; `show` is
/// absent for plain available, else `away`, `xa` or `dnd`; `status` is the text.
#[derive(utoipa::ToSchema, ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmppPresence {
    pub available: bool,
    pub show: Option<String>,
    pub status: Option<String>,
}

/// How Graph says a status: by the status itself where Graph has a word for it (a meeting, a
/// call, out of office), else by its family.
pub fn graph(view: &TeamView) -> GraphPresence {
    let status = &view.status;
    let (availability, activity) = match status.status {
        StatusId::IN_A_MEETING => ("Busy", "InAMeeting"),
        StatusId::ON_A_CALL => ("Busy", "InACall"),
        StatusId::OUT_OF_OFFICE => ("Offline", "OutOfOffice"),
        _ => match status.family {
            Family::Available => ("Available", "Available"),
            Family::Busy => ("Busy", "Busy"),
            Family::Away => ("Away", "Away"),
            Family::DoNotDisturb => ("DoNotDisturb", "DoNotDisturb"),
            Family::Offline => ("Offline", "Offline"),
        },
    };
    GraphPresence {
        availability: availability.into(),
        activity: activity.into(),
    }
}

/// How Matrix says a status: online while the person can be reached (Available, Busy), else
/// unavailable, or offline. The message, or the status's name for anything but Available and
/// Offline, is the status message.
pub fn matrix(view: &TeamView) -> MatrixPresence {
    let family = view.status.family;
    let presence = match family {
        Family::Available | Family::Busy => "online",
        Family::Away | Family::DoNotDisturb => "unavailable",
        Family::Offline => "offline",
    };
    MatrixPresence {
        presence: presence.into(),
        status_msg: text(view),
        currently_active: family == Family::Available || family == Family::Busy,
    }
}

/// How XMPP says a status: Available has no `show`; Busy and Do not disturb are `dnd` (XMPP's
/// busy); Away is `away`, out of office `xa`; Offline is unavailable presence.
pub fn xmpp(view: &TeamView) -> XmppPresence {
    let show = match view.status.family {
        _ if view.status.status == StatusId::OUT_OF_OFFICE => Some("xa"),
        Family::Available | Family::Offline => None,
        Family::Busy | Family::DoNotDisturb => Some("dnd"),
        Family::Away => Some("away"),
    };
    XmppPresence {
        available: view.status.family != Family::Offline,
        show: show.map(Into::into),
        status: text(view),
    }
}

/// The words beside the state: the person's message, else the status's own name when it says
/// more than the state does.
fn text(view: &TeamView) -> Option<String> {
    if let Some(m) = &view.message {
        let emoji = m.emoji.as_ref().map(|e| format!("{} ", e.as_str()));
        return Some(format!("{}{}", emoji.unwrap_or_default(), m.text.as_str()));
    }
    match view.status.family {
        Family::Available | Family::Offline => None,
        _ => Some(view.status.label.clone()),
    }
}

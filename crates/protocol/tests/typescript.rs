//! The UI's TypeScript types are generated from the Rust definitions and committed as
//! `ui/src/lib/generated.ts`. This test fails when they drift; `UPDATE_TS=1` rewrites the file.

use presence::*;
use protocol::ipc::{
    events, About, CenterItem, ChangeRequest, CommandError, CommandErrorKind, Settings, Snapshot,
    TeamPanel,
};
use protocol::*;
use ts_rs::TS;

fn generated() -> String {
    let decls = [
        Timestamp::decl(),
        Span::decl(),
        StatusId::decl(),
        UserId::decl(),
        DeviceId::decl(),
        TeamId::decl(),
        MessageText::decl(),
        Emoji::decl(),
        PhoneNumber::decl(),
        Family::decl(),
        Colour::decl(),
        Glyph::decl(),
        NotificationPolicy::decl(),
        DirectCallPolicy::decl(),
        StatusPolicy::decl(),
        StatusEntry::decl(),
        StatusView::decl(),
        MessageView::decl(),
        Interruptibility::decl(),
        TeamView::decl(),
        SelfView::decl(),
        ClaimSource::decl(),
        Standing::decl(),
        ClaimLine::decl(),
        NextChange::decl(),
        Explanation::decl(),
        DeviceLine::decl(),
        DeviceShown::decl(),
        DeviceName::decl(),
        Platform::decl(),
        DeviceKind::decl(),
        DeviceActivity::decl(),
        DeviceReport::decl(),
        ClearAfter::decl(),
        Change::decl(),
        HoldReason::decl(),
        Delivery::decl(),
        BusyAction::decl(),
        RequestId::decl(),
        NotificationSeq::decl(),
        ClientMessage::decl(),
        Member::decl(),
        Link::decl(),
        Notification::decl(),
        ErrorKind::decl(),
        WireError::decl(),
        ServerMessage::decl(),
        Snapshot::decl(),
        ChangeRequest::decl(),
        TeamPanel::decl(),
        CenterItem::decl(),
        Settings::decl(),
        About::decl(),
        CommandError::decl(),
        CommandErrorKind::decl(),
        TimeZone::decl(),
        MinuteOfDay::decl(),
        WeeklyWindow::decl(),
        Schedule::decl(),
        CallSettings::decl(),
        Preferences::decl(),
        OutOfOffice::decl(),
        PersonalStatus::decl(),
        CallOutcome::decl(),
        CustomStatusId::decl(),
        StatusName::decl(),
        MenuName::decl(),
        CustomStatus::decl(),
        OrgPolicy::decl(),
        BuiltinOverride::decl(),
        rest::ErrorBody::decl(),
        rest::Role::decl(),
        rest::SignIn::decl(),
        rest::ServerVersion::decl(),
        rest::AppRelease::decl(),
        rest::PersonalLimits::decl(),
        rest::SignedIn::decl(),
        rest::OrgRef::decl(),
        rest::TeamRef::decl(),
        rest::Me::decl(),
        rest::Avatar::decl(),
        rest::Favourites::decl(),
        rest::Team::decl(),
        rest::Statuses::decl(),
        rest::NotificationsQuery::decl(),
        rest::NotificationsPage::decl(),
        rest::SendNotification::decl(),
        rest::NotificationSent::decl(),
        rest::NotificationList::decl(),
        rest::Changed::decl(),
        rest::IntegrationKind::decl(),
        rest::IntegrationEvent::decl(),
        rest::IntegrationApplied::decl(),
        rest::TeamRequest::decl(),
        rest::UserRequest::decl(),
        rest::Ring::decl(),
        rest::Assigned::decl(),
        rest::CustomStatusRequest::decl(),
        rest::PolicyRequest::decl(),
        rest::Policy::decl(),
        rest::QuietHours::decl(),
        rest::AdminStatus::decl(),
        rest::SeenByOthers::decl(),
        rest::AdminUser::decl(),
        rest::AdminUsers::decl(),
        rest::CreateUser::decl(),
        rest::UpdateUser::decl(),
        rest::InviteState::decl(),
        rest::MailState::decl(),
        rest::MailDelivery::decl(),
        rest::SsoDiscovery::decl(),
        rest::SsoSignIn::decl(),
        rest::SsoSettings::decl(),
        rest::SetSso::decl(),
        rest::Invite::decl(),
        rest::Invites::decl(),
        rest::CreateInvite::decl(),
        rest::InviteCreated::decl(),
        rest::RedeemCode::decl(),
        rest::PasswordReset::decl(),
        rest::ChangePassword::decl(),
        rest::DeviceInfo::decl(),
        rest::Devices::decl(),
        rest::ApiKey::decl(),
        rest::ApiKeys::decl(),
        rest::CreateKey::decl(),
        rest::KeyCreated::decl(),
        rest::WebhookEvent::decl(),
        rest::Webhook::decl(),
        rest::WebhookCreate::decl(),
        rest::WebhookCreated::decl(),
        rest::WebhookUpdate::decl(),
        rest::WebhookDelivery::decl(),
        rest::WebhookDeliveries::decl(),
        rest::SelfChange::decl(),
        rest::ChangeApplied::decl(),
        rest::CalendarSource::decl(),
        rest::CalendarState::decl(),
        protocol::bridges::GraphPresence::decl(),
        protocol::bridges::MatrixPresence::decl(),
        protocol::bridges::XmppPresence::decl(),
        rest::BridgePerson::decl(),
        rest::BridgePresence::decl(),
        rest::AdminTeam::decl(),
        rest::AdminTeams::decl(),
        rest::TeamName::decl(),
        rest::AuditEntry::decl(),
        rest::AuditPage::decl(),
        rest::AuditQuery::decl(),
        rest::CustomStatuses::decl(),
        rest::OrgRules::decl(),
        rest::DirectoryEntry::decl(),
        rest::Directory::decl(),
        rest::DirectoryQuery::decl(),
    ];
    let mut out = String::from(
        "// Generated from crates/presence and crates/protocol by `UPDATE_TS=1 cargo test -p protocol --test typescript`.\n// Do not edit by hand.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.push_str("/** The events the app sends the window (protocol::ipc::events). */\nexport const EVENTS = {\n");
    for (name, event) in events::ALL {
        out.push_str(&format!("  {name}: \"{event}\",\n"));
    }
    out.push_str("} as const;\n");
    out.trim_end().to_owned() + "\n"
}

#[test]
fn the_ui_types_match_the_rust_definitions() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/generated.ts");
    let fresh = generated();
    if std::env::var("UPDATE_TS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &fresh).expect("write ui/src/lib/generated.ts");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/lib/generated.ts is out of date: run `UPDATE_TS=1 cargo test -p protocol --test typescript` and commit it"
    );
}

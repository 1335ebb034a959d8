// Generated from crates/presence and crates/protocol by `UPDATE_TS=1 cargo test -p protocol --test typescript`.
// Do not edit by hand.

export type Timestamp = number;

export type Span = number;

export type StatusId = string;

export type UserId = string;

export type DeviceId = string;

export type TeamId = string;

export type MessageText = string;

export type Emoji = string;

export type PhoneNumber = string;

export type Family = "available" | "busy" | "away" | "do_not_disturb" | "offline";

export type Colour = "green" | "red" | "amber" | "gray";

export type Glyph = "check" | "dot" | "clock" | "line" | "cross" | "phone" | "calendar" | "pencil" | "forward" | "plane" | "emoji";

export type NotificationPolicy = "deliver" | "hold";

export type DirectCallPolicy = "ring" | "busy_action" | "voicemail" | "forward_to_phone";

export type StatusPolicy = { family: Family, colour: Colour, glyph: Glyph, 
/**
 * A person may pick it; otherwise only automation sets it.
 */
selectable: boolean, notifications: NotificationPolicy, direct_call: DirectCallPolicy, 
/**
 * Team calls ring people in this status.
 */
team_calls: boolean, 
/**
 * Auto-assigned contacts may go to people in this status.
 */
assignable: boolean, };

export type StatusEntry = { id: StatusId, label: string, emoji: Emoji | null, enabled: boolean, policy: StatusPolicy, };

export type StatusView = { status: StatusId, label: string, family: Family, colour: Colour, glyph: Glyph, emoji: Emoji | null, since: Timestamp, until: Timestamp | null, };

export type MessageView = { text: MessageText, emoji: Emoji | null, expires: Timestamp | null, };

export type Interruptibility = { "state": "normal" } | { "state": "do_not_disturb", until: Timestamp | null, } | { "state": "paused", until: Timestamp, } | { "state": "quiet_hours", until: Timestamp, };

export type TeamView = { status: StatusView, message: MessageView | null, 
/**
 * When shown Offline: the last moment they were seen (frozen while Invisible).
 */
last_seen: Timestamp | null, 
/**
 * The kind of the device that makes them reachable now (the most active of those that
 * count); none while Offline or Invisible, or for a device that never said.
 */
reachable_on: DeviceKind | null, };

export type SelfView = { status: StatusView, message: MessageView | null, interruptibility: Interruptibility, 
/**
 * Exactly what teammates see, shown beside the status when it differs (Invisible).
 */
seen_by_others: TeamView, };

export type ClaimSource = "manual" | "timed" | "call" | "meeting" | "after_call_work" | "admin" | "schedule" | "out_of_office" | "calendar" | "idle" | "inactivity" | "no_device" | "automatic";

export type Standing = "winner" | "below" | "nested" | "suspended";

export type ClaimLine = { status: StatusId, label: string, source: ClaimSource, because: string, priority: number, device: DeviceId | null, since: Timestamp, until: Timestamp | null, standing: Standing, };

export type NextChange = { at: Timestamp, status: StatusId, label: string, };

export type Explanation = { winner: ClaimLine, 
/**
 * Everything else in the stack, in the order it would come back.
 */
others: Array<ClaimLine>, 
/**
 * The status if the winning claim ended now.
 */
when_this_ends: StatusId, 
/**
 * The next change that happens by itself, if any, and what it leads to.
 */
next: NextChange | null, seen_by_others: StatusId, 
/**
 * Each of the person's devices, as the engine counts it now.
 */
devices: Array<DeviceLine>, };

export type DeviceLine = { device: DeviceId, 
/**
 * Its name and platform from its sign-in (none and other for a device that never said).
 */
name: DeviceName | null, platform: Platform, state: DeviceShown, 
/**
 * Since when it is in that state (for gone: when it went).
 */
since: Timestamp, last_report_at: Timestamp, in_call: boolean, };

export type DeviceShown = "active" | "idle" | "away" | "locked" | "gone";

export type DeviceName = string;

export type Platform = "linux" | "macos" | "windows" | "android" | "ios" | "web" | "cli" | "other";

export type DeviceKind = "desktop" | "mobile" | "web" | "other";

export type DeviceActivity = { "state": "active" } | { "state": "idle", idle_for: Span, } | { "state": "locked", locked_for: Span, };

export type DeviceReport = { device: DeviceId, seq: number, activity: DeviceActivity, in_call: boolean, };

export type ClearAfter = { "kind": "never" } | { "kind": "thirty_minutes" } | { "kind": "one_hour" } | { "kind": "four_hours" } | { "kind": "today" } | { "kind": "this_week" } | { "kind": "at", "at": Timestamp };

export type Change = { "kind": "set_status", status: StatusId, until: Timestamp | null, } | { "kind": "set_message", text: MessageText, emoji: Emoji | null, clear_after: ClearAfter, } | { "kind": "clear_message" } | { "kind": "pause_notifications", until: Timestamp, } | { "kind": "resume_notifications" } | { "kind": "close_wrap_up" };

export type HoldReason = { "reason": "status", status: StatusId, } | { "reason": "paused", until: Timestamp, } | { "reason": "quiet_hours", until: Timestamp, } | { "reason": "no_device" };

export type Delivery = { "delivery": "show" } | { "delivery": "hold", why: HoldReason, } | { "delivery": "break_through", why: HoldReason, };

export type BusyAction = { "action": "engaged_tone" } | { "action": "voicemail" } | { "action": "message" } | { "action": "redirect_user", "target": UserId } | { "action": "redirect_team", "target": TeamId } | { "action": "redirect_menu", "target": MenuName } | { "action": "redirect_number", "target": PhoneNumber };

export type RequestId = string;

export type NotificationSeq = number;

export type ClientMessage = { "type": "hello", protocol: number, token: string, device: DeviceId, 
/**
 * Deliver every notification after this one (none: from the start of what is unread).
 */
resume_after: NotificationSeq | null, } | { "type": "change", request: RequestId, change: Change, } | { "type": "device_report", report: DeviceReport, } | { "type": "mark_read", request: RequestId, notifications: Array<NotificationSeq>, } | { "type": "dismiss", request: RequestId, notifications: Array<NotificationSeq>, } | { "type": "mark_all_read", request: RequestId, } | { "type": "heartbeat" } | { "type": "watch_board" } | { "type": "watch_people", people: Array<UserId>, };

export type Member = { user: UserId, name: string, 
/**
 * IANA time zone, for the teammate's local time.
 */
time_zone: string, view: TeamView, 
/**
 * The version of their photo (`GET /api/v1/people/{user}/avatar?size=`); none: show their
 * initials. A new version means a new photo: fetch it again.
 */
avatar: string | null, };

export type Link = string;

export type Notification = { seq: NotificationSeq, title: string, body: string, sender: UserId | null, urgent: boolean, created_at: Timestamp, 
/**
 * What the engine decided when it arrived: shown, or held and why.
 */
delivery: Delivery, read: boolean, dismissed: boolean, 
/**
 * Where "Open" takes the person (the chat message, the ticket, the call): an http or https
 * address, or none.
 */
link: Link | null, };

export type ErrorKind = "too_large" | "malformed" | "unknown_type" | "unsupported_version" | "unauthorized" | "forbidden" | "not_found" | "invalid" | "conflict" | "method_not_allowed" | "rate_limited" | "internal";

export type WireError = { kind: ErrorKind, message: string, };

export type ServerMessage = { "type": "welcome", protocol: number, user: UserId, device: DeviceId, server_time: Timestamp, 
/**
 * The newest notification sequence at the moment of the welcome.
 */
cursor: NotificationSeq, 
/**
 * How often this connection should send a heartbeat: a third of the organisation's
 * device lease (at most 30 s), so a live client renews its lease in time.
 * Absent from servers before protocol 3: the client's own default.
 */
heartbeat_ms?: number, } | { "type": "team_snapshot", members: Array<Member>, 
/**
 * The person themselves as teammates see them (their name and photo): absent from
 * servers before 0.2.
 */
me?: Member, 
/**
 * Whom the person pinned (in `members` too), oldest first: absent from servers before
 * 0.2.
 */
favourites: Array<UserId>, } | { "type": "presence_delta", user: UserId, view: TeamView, } | { "type": "self_update", view: SelfView, } | { "type": "notification", notification: Notification, } | { "type": "notifications_changed", notifications: Array<NotificationSeq>, read: boolean, dismissed: boolean, } | { "type": "ack", request: RequestId, } | { "type": "error", request: RequestId | null, error: WireError, } | { "type": "heartbeat_ack", server_time: Timestamp, } | { "type": "report_needed", last_seq: number | null, reason: string, } | { "type": "report_applied", seq: number, } | { "type": "board_snapshot", members: Array<Member>, } | { "type": "watching", members: Array<Member>, } | { "type": "statuses", statuses: Array<StatusEntry>, };

export type Snapshot = { me: SelfView, 
/**
 * The person as teammates see them (name, photo), when connected to a server that says
 * so; none on their own.
 */
myself: Member | null, statuses: Array<StatusEntry>, 
/**
 * Notifications paused until then, whatever the status (DND may hide the pause).
 */
paused_until: Timestamp | null, 
/**
 * Unread notifications in the center.
 */
unread: number, 
/**
 * The link to the server, in words: "Connected", "Offline: … retrying in 4 s", "Signed
 * out: …", or "Not connected to a server" when the app runs on its own.
 */
connection: string, 
/**
 * A newer app than this one, published by the server's administrator.
 */
update: AppRelease | null, };

export type ChangeRequest = { "kind": "change", change: Change, } | { "kind": "status_for", status: StatusId, minutes: number, } | { "kind": "status_until_time", status: StatusId, hour: number, minute: number, } | { "kind": "pause_for", minutes: number, } | { "kind": "pause_until_tomorrow" };

export type TeamPanel = { members: Array<Member>, 
/**
 * Whom the person pinned (in `members` too), shown first.
 */
favourites: Array<UserId>, stale_since: Timestamp | null, 
/**
 * The other people on screen (the directory's results), live while they are shown.
 */
glances: Array<Member>, };

export type CenterItem = { notification: Notification, 
/**
 * Held during Do not disturb or a pause and not yet seen: shown first, highlighted.
 */
missed: boolean, };

export type Settings = { 
/**
 * The server this app is signed in to, and as whom.
 */
server: string | null, account: string | null, time_zone: string, 
/**
 * Away when idle or locked; off: idle and lock change nothing.
 */
auto_away: boolean, 
/**
 * Away after this many minutes without input; none: the organisation's threshold.
 */
idle_after_minutes: number | null, 
/**
 * Outside these, direct calls follow the out-of-hours action. Empty: always working.
 */
working_hours: Array<WeeklyWindow>, 
/**
 * Notifications held, status unchanged.
 */
quiet_hours: Array<WeeklyWindow>, 
/**
 * Do not disturb on a weekly schedule (below any status chosen by hand).
 */
dnd_schedule: Array<WeeklyWindow>, 
/**
 * People whose urgent notifications reach the person in Do not disturb, a pause and quiet
 * hours.
 */
urgent_from: Array<UserId>, 
/**
 * What a direct call does when the person cannot take it, and Forward to phone's number.
 */
call: CallSettings, 
/**
 * Out of office: from, until, and the message teammates see.
 */
out_of_office: OutOfOffice | null, 
/**
 * The person's own statuses (name, emoji, family), listed after the organisation's.
 */
statuses: Array<PersonalStatus>, 
/**
 * What the organisation allows; none without a server.
 */
limits: PersonalLimits | null, 
/**
 * Why the person's own settings could not be read (the server cannot be reached): the
 * window shows this computer's settings only, and a save leaves the others as they are.
 */
unavailable: string | null, 
/**
 * Show desktop notifications (off: everything still lands in the center).
 */
desktop_notifications: boolean, start_on_login: boolean, 
/**
 * On this computer: On a call while one of `call_apps` uses the microphone.
 */
call_detection: boolean, 
/**
 * The applications that make a call (names as the sound server knows them: "zoom").
 */
call_apps: Array<string>, 
/**
 * Why auto-away cannot work on this computer's session (no idle time to be had: a
 * Wayland compositor with no idle protocol, no display); none when it works.
 */
auto_away_unavailable: string | null, 
/**
 * On this computer: what the desktop's own Do not disturb does to Presently — `dnd`
 * (Do not disturb too), `pause` (Presently's notifications only) or `off`.
 */
desktop_dnd: string, 
/**
 * On this computer: the desktop's banners off while Presently holds notifications.
 */
quiet_desktop: boolean, 
/**
 * Why this desktop's Do not disturb cannot be followed (not GNOME); none when it can.
 */
desktop_dnd_unavailable: string | null, };

export type About = { 
/**
 * This app's version.
 */
version: string, 
/**
 * The protocol version this app speaks.
 */
protocol: number, 
/**
 * The server this app is signed in to, its version when known, and as whom.
 */
server: string | null, server_version: string | null, account: string | null, 
/**
 * No server chosen yet, and "use without a server" not chosen either: the window shows
 * the sign-in screen.
 */
first_run: boolean, 
/**
 * A newer app than this one, published by the server's administrator.
 */
update: AppRelease | null, };

export type CommandError = { kind: CommandErrorKind, message: string, 
/**
 * The setting the refusal is about, named as in [`Settings`] (`call`, `out_of_office`,
 * `statuses`, …), so the window says it beside that setting; none when it is not one.
 */
field: string | null, };

export type CommandErrorKind = "invalid" | "offline" | "signed_out" | "store" | "open_failed" | "autostart" | "internal";

export type TimeZone = string;

export type MinuteOfDay = number;

export type WeeklyWindow = { 
/**
 * Days on which the window starts; 0 = Monday … 6 = Sunday.
 */
days: Array<number>, start: MinuteOfDay, end: MinuteOfDay, };

export type Schedule = { time_zone: TimeZone, 
/**
 * Outside these, a direct call follows the out-of-hours rule. Empty means always working.
 */
working_hours: Array<WeeklyWindow>, 
/**
 * Notifications are held (status unchanged).
 */
quiet_hours: Array<WeeklyWindow>, 
/**
 * The status becomes Do not disturb, below any manual choice.
 */
do_not_disturb: Array<WeeklyWindow>, };

export type CallSettings = { 
/**
 * For Busy, Do not disturb and the other statuses that do not ring.
 */
busy_action: BusyAction, 
/**
 * Outside working hours; when unset, the busy action.
 */
out_of_hours: BusyAction | null, 
/**
 * For Forward to phone.
 */
forward_to: PhoneNumber | null, };

export type Preferences = { time_zone: TimeZone, schedule: Schedule | null, 
/**
 * Overrides the organisation's idle threshold for this person.
 */
idle_after: Span | null, 
/**
 * Senders whose urgent notifications break through DND, a pause and quiet hours.
 */
breakthrough: Array<UserId>, call: CallSettings, 
/**
 * Away when every device is idle or locked, as the organisation's policy says. Off: idle
 * and lock change nothing for this person (an organisation's inactivity timeout still
 * applies, and the organisation turning auto-away off turns it off for everyone).
 */
auto_away: boolean, 
/**
 * Away from work between two instants.
 */
out_of_office: OutOfOffice | null, 
/**
 * Statuses the person made for themselves, listed after the organisation's.
 */
statuses: Array<PersonalStatus>, };

export type OutOfOffice = { from: Timestamp, until: Timestamp, message: MessageText | null, };

export type PersonalStatus = { id: CustomStatusId, name: StatusName, emoji: Emoji | null, family: Family, };

export type CallOutcome = { "outcome": "ring" } | { "outcome": "busy", action: BusyAction, } | { "outcome": "voicemail" } | { "outcome": "forward", to: PhoneNumber, } | { "outcome": "out_of_hours", action: BusyAction, };

export type CustomStatusId = string;

export type StatusName = string;

export type MenuName = string;

export type CustomStatus = { id: CustomStatusId, name: StatusName, emoji: Emoji | null, enabled: boolean, policy: StatusPolicy, };

export type OrgPolicy = { 
/**
 * Idle for this long on every device → Away.
 */
idle_after: Span, 
/**
 * Idle for this long on every device → Offline (the contact-center inactivity timeout).
 */
offline_after: Span | null, 
/**
 * A device that has not reported for this long is gone.
 */
device_lease: Span, 
/**
 * After a call, After call work for at most this long (until the wrap-up is closed).
 */
after_call_work: Span | null, 
/**
 * Away when every device is idle or locked. Off: idle and lock change nothing (an
 * inactivity timeout, when set, still applies).
 */
auto_away: boolean, 
/**
 * Status-driven routing (team calls, contact assignment) for the organisation.
 */
routing: boolean, };

export type BuiltinOverride = { 
/**
 * A built-in status (`available`, `busy`, …).
 */
status: StatusId, enabled: boolean | null, team_calls: boolean | null, assignable: boolean | null, direct_call: DirectCallPolicy | null, };

export type ErrorBody = { error: WireError, };

export type Role = "member" | "admin";

export type SignIn = { email: string, password: string, 
/**
 * This installation's device id (letters, digits and - _ . : @ +).
 */
device: DeviceId, 
/**
 * What the person calls this device ("Work laptop"; the computer's name by default),
 * shown to them in "Why am I shown as X?" and to administrators, never to teammates.
 */
device_name: DeviceName | null, 
/**
 * What it runs on; teammates see its kind (desktop, mobile, web) while it makes the person
 * reachable. Other when absent.
 */
platform: Platform | null, };

export type ServerVersion = { 
/**
 * The server's version (semantic versioning).
 */
server: string, 
/**
 * The newest protocol version the server speaks.
 */
protocol: number, 
/**
 * The oldest protocol version the server still speaks.
 */
min_protocol: number, 
/**
 * The latest desktop app, when the administrator publishes one (`[app]` in the config).
 */
app: AppRelease | null, };

export type AppRelease = { 
/**
 * Its version (semantic versioning), compared with the running app's.
 */
version: string, 
/**
 * Where to get it (a download page, or the package itself).
 */
url: string, 
/**
 * What changed, in a sentence or two.
 */
notes: string | null, };

export type PersonalLimits = { 
/**
 * Auto-away is on for the organisation; off, a person's own setting changes nothing.
 */
auto_away: boolean, 
/**
 * The organisation's idle threshold, used when the person sets none.
 */
idle_after: Span, 
/**
 * The shortest and longest idle threshold a person may set.
 */
idle_after_min: Span, idle_after_max: Span, 
/**
 * Idle this long on every device → Offline, whatever the person sets (none: never).
 */
offline_after: Span | null, 
/**
 * Forward to phone is offered in the organisation.
 */
forward_to_phone: boolean, 
/**
 * The organisation's teams (a call can be redirected to one).
 */
teams: Array<TeamRef>, };

export type SignedIn = { token: string, user: UserId, name: string, org: string, device: DeviceId, role: Role, };

export type OrgRef = { id: string, name: string, };

export type TeamRef = { id: string, name: string, };

export type Me = { user: UserId, name: string, email: string, role: Role, org: OrgRef, device: DeviceId, view: SelfView, unread: number, teams: Array<TeamRef>, 
/**
 * The version of the person's photo; none: initials.
 */
avatar: string | null, };

export type Avatar = { 
/**
 * Its version (also its ETag): teammates see it in their team snapshot.
 */
version: string, 
/**
 * The sizes stored, in pixels; `GET /people/{user}/avatar?size=` serves the smallest at
 * least as large as asked.
 */
sizes: Array<number>, };

export type Favourites = { people: Array<Member>, waiting: Array<UserId>, };

export type Team = { members: Array<Member>, };

export type Statuses = { statuses: Array<StatusEntry>, };

export type NotificationsQuery = { after: number | null, 
/**
 * 1 to 1000; 100 when absent.
 */
limit: number | null, };

export type NotificationsPage = { notifications: Array<Notification>, 
/**
 * The `after` of the next page; none when this one is empty.
 */
next_after: NotificationSeq | null, unread: number, };

export type SendNotification = { 
/**
 * The person's id or email.
 */
user: string, title: string, body: string, 
/**
 * The sender's user id, for the urgent allow-list.
 */
sender: string | null, urgent: boolean, 
/**
 * The caller's id for this notification: sending it again returns the stored one.
 */
external_id: string | null, 
/**
 * Where "Open" takes the person: an absolute http or https address.
 */
link: string | null, };

export type NotificationSent = { notification: Notification, 
/**
 * True when `external_id` was sent before: nothing new was stored or delivered.
 */
duplicate: boolean, };

export type NotificationList = { notifications: Array<NotificationSeq>, };

export type Changed = { changed: Array<NotificationSeq>, };

export type IntegrationKind = "call_started" | "call_ended" | "meeting_started" | "meeting_ended" | "wrap_up_closed";

export type IntegrationEvent = { 
/**
 * The person's id or email.
 */
user: string, kind: IntegrationKind, external_id: string, 
/**
 * For a start: when the call or meeting is planned to end (at most 24 hours ahead). Without
 * it, it ends 4 hours after its start unless renewed: send the start again (same
 * `external_id`) with a later `until`, or without one for 4 more hours from now.
 */
until: Timestamp | null, };

export type IntegrationApplied = { 
/**
 * False for an event already applied.
 */
applied: boolean, 
/**
 * For a start: when the call or meeting ends by itself unless renewed or ended; none once
 * it is over (a start sent again after its end changes nothing).
 */
until: Timestamp | null, 
/**
 * What teammates see of the person now.
 */
view: TeamView, };

export type TeamRequest = { team: string, };

export type UserRequest = { user: string, };

export type Ring = { ring: Array<UserId>, };

export type Assigned = { assignee: UserId | null, };

export type CustomStatusRequest = { 
/**
 * A slug (letters, digits, - and _); made from the name when absent.
 */
id: string | null, name: string, emoji: string | null, enabled: boolean, 
/**
 * Its colour and what it means to others: available, busy, away or do_not_disturb.
 */
family: Family, 
/**
 * The family's when absent.
 */
notifications: NotificationPolicy | null, direct_call: DirectCallPolicy | null, team_calls: boolean | null, assignable: boolean | null, };

export type PolicyRequest = { 
/**
 * Away after this long without input.
 */
idle_after_secs: number | null, 
/**
 * Offline after this long without input.
 */
offline_after_secs?: number | null, 
/**
 * After call work after a call, this long at most.
 */
after_call_work_secs?: number | null, 
/**
 * Away on idle and screen lock.
 */
auto_away?: boolean, 
/**
 * Status-driven routing (team calls, contact assignment); off, the routing API refuses.
 */
routing?: boolean, 
/**
 * Forward to phone offered (then people may choose it).
 */
forward_to_phone_enabled?: boolean, 
/**
 * Replaces the organisation's changes to built-in statuses: offered or not, ringing for
 * team calls, taking contacts, what a direct call does.
 */
builtin?: Array<BuiltinOverride>, };

export type Policy = { policy: OrgPolicy, };

export type QuietHours = { quiet_hours: Array<WeeklyWindow>, 
/**
 * Absent: left as it is.
 */
do_not_disturb?: Array<WeeklyWindow>, };

export type AdminStatus = { status: StatusId, until: Timestamp | null, };

export type SeenByOthers = { view: TeamView, };

export type AdminUser = { id: UserId, email: string, name: string, role: Role, 
/**
 * False once deactivated: cannot sign in, shown Offline, history kept.
 */
active: boolean, 
/**
 * An administrator reset the password and the person has not set a new one yet.
 */
password_reset: boolean, teams: Array<TeamRef>, 
/**
 * What teammates see of the person now.
 */
view: TeamView, 
/**
 * Devices signed in (tokens not revoked).
 */
devices: number, 
/**
 * The version of their photo; none: initials.
 */
avatar: string | null, };

export type AdminUsers = { users: Array<AdminUser>, };

export type CreateUser = { email: string, name: string, password: string, role: Role, 
/**
 * IANA time zone; UTC when absent.
 */
time_zone: string | null, 
/**
 * Team ids to join.
 */
teams: Array<string>, };

export type UpdateUser = { name: string | null, role: Role | null, 
/**
 * False deactivates (sessions closed at once, shown Offline, tokens revoked, history
 * kept); true reactivates (the person signs in again).
 */
active: boolean | null, };

export type InviteState = "pending" | "used" | "expired" | "revoked";

export type MailState = "sent" | "failed";

export type MailDelivery = { state: MailState, at: Timestamp, 
/**
 * Why it failed, and what to check.
 */
error: string | null, };

export type SsoDiscovery = { org: string, org_name: string, 
/**
 * What the button says: "Sign in with Okta".
 */
label: string, 
/**
 * Whether members may also sign in with a password.
 */
passwords: boolean, };

export type SsoSignIn = { code: string, verifier: string, device: DeviceId, device_name: DeviceName | null, platform: Platform | null, };

export type SsoSettings = { 
/**
 * Whether a provider is set; the rest is empty when not.
 */
configured: boolean, issuer: string, client_id: string, 
/**
 * Whether a client secret is kept (it is never shown).
 */
secret_set: boolean, label: string, 
/**
 * Email domains whose people are sent to this provider ("example.org").
 */
domains: Array<string>, 
/**
 * People with a verified email and no account get one at first sign-in.
 */
create_accounts: boolean, 
/**
 * The team such new people join.
 */
default_team: string | null, 
/**
 * Whether members may sign in with a password (administrators always may, so that a
 * broken provider never locks the organisation out).
 */
passwords: boolean, 
/**
 * What to register at the provider as the redirect address.
 */
redirect_uri: string, };

export type SetSso = { 
/**
 * `https://login.example.org/realms/staff`, as the provider names itself.
 */
issuer: string, client_id: string, 
/**
 * Absent or null: keep the secret already set.
 */
client_secret: string | null, 
/**
 * "Sign in with …" when absent.
 */
label: string | null, domains: Array<string>, create_accounts: boolean, default_team: string | null, 
/**
 * False turns password sign-in off for members.
 */
passwords: boolean, };

export type Invite = { id: string, email: string, name: string | null, role: Role, teams: Array<TeamRef>, created_at: Timestamp, expires_at: Timestamp, state: InviteState, 
/**
 * The invite's mail, when the server sends mail.
 */
mail: MailDelivery | null, };

export type Invites = { invites: Array<Invite>, };

export type CreateInvite = { email: string, 
/**
 * A name to start with; the person may give their own.
 */
name: string | null, role: Role, teams: Array<string>, 
/**
 * 1 hour to 30 days; 7 days when absent.
 */
expires_in_hours: number | null, };

export type InviteCreated = { invite: Invite, code: string, 
/**
 * The console's page where the person sets their password with the code.
 */
link: string, };

export type RedeemCode = { code: string, 
/**
 * The new password: at least 8 characters.
 */
password: string, 
/**
 * For an invite: the person's name (the invite's when absent).
 */
name: string | null, device: DeviceId, 
/**
 * As in [`crate::rest::SignIn`].
 */
device_name: DeviceName | null, platform: Platform | null, };

export type PasswordReset = { code: string, link: string, expires_at: Timestamp, 
/**
 * The mail that carried the code to the person, when the server sends mail.
 */
mail: MailDelivery | null, };

export type ChangePassword = { current: string, 
/**
 * At least 8 characters.
 */
new: string, 
/**
 * Also sign out every other device.
 */
sign_out_others: boolean, };

export type DeviceInfo = { user: UserId, user_name: string, device: DeviceId, 
/**
 * The name and platform it signed in with (none and other for an older sign-in).
 */
name: DeviceName | null, platform: Platform, signed_in_at: Timestamp, 
/**
 * Its last report, if it reported since it signed in.
 */
last_report_at: Timestamp | null, 
/**
 * What it reported last; none when its lease lapsed or it never reported.
 */
activity: DeviceActivity | null, 
/**
 * The device asking (for `GET /me/devices`).
 */
current: boolean, };

export type Devices = { devices: Array<DeviceInfo>, };

export type ApiKey = { id: string, name: string, 
/**
 * Who made it; none for the command line.
 */
created_by: UserId | null, created_at: Timestamp, revoked_at: Timestamp | null, };

export type ApiKeys = { keys: Array<ApiKey>, };

export type CreateKey = { name: string, };

export type KeyCreated = { key: ApiKey, secret: string, };

export type WebhookEvent = "status.changed" | "notification.created" | "notification.read" | "notification.dismissed" | "account.changed" | "ping";

export type Webhook = { id: string, 
/**
 * An https address.
 */
url: string, events: Array<WebhookEvent>, description: string, 
/**
 * Off: nothing is sent (turned off by an administrator, or after a day of failures).
 */
enabled: boolean, created_at: Timestamp, 
/**
 * Since when its deliveries fail; none while they arrive.
 */
failing_since: Timestamp | null, 
/**
 * Why it was turned off, when the server did it.
 */
disabled_reason: string | null, };

export type WebhookCreate = { url: string, events: Array<WebhookEvent>, description: string, };

export type WebhookCreated = { webhook: Webhook, secret: string, };

export type WebhookUpdate = { url: string | null, events: Array<WebhookEvent> | null, description: string | null, enabled: boolean | null, };

export type WebhookDelivery = { 
/**
 * Also the `id` in the body and the `Presently-Delivery` header.
 */
id: string, event: WebhookEvent, created_at: Timestamp, attempts: number, 
/**
 * pending, delivered or failed (a day of attempts, none answered 2xx).
 */
state: string, 
/**
 * When it is tried next, while pending.
 */
next_at: Timestamp | null, last_at: Timestamp | null, 
/**
 * The HTTP status the endpoint answered last.
 */
last_status: number | null, 
/**
 * What went wrong last, in words.
 */
last_error: string | null, };

export type WebhookDeliveries = { deliveries: Array<WebhookDelivery>, };

export type SelfChange = { 
/**
 * The caller's id for this change (1–100 characters): sent again, it changes nothing again.
 */
request: RequestId, change: Change, };

export type ChangeApplied = { request: RequestId, view: SelfView, };

export type CalendarSource = { 
/**
 * "ics": an iCalendar address (https:// or webcal://), such as the "secret address in
 * iCal format" Google Calendar gives or a calendar Microsoft 365 publishes.
 * "caldav": a CalDAV server (https://) with a user name and password: the calendar's own
 * address, or the server's, whose first calendar of events is followed.
 */
kind: string, url: string, 
/**
 * CalDAV's user name.
 */
user?: string, 
/**
 * CalDAV's password (an app password where the provider gives those); sealed at rest and
 * never shown again.
 */
password?: string, };

export type CalendarState = { kind: string, 
/**
 * The address's scheme and host, for the person to recognise it.
 */
shown: string, 
/**
 * Followed since.
 */
since: Timestamp, 
/**
 * The last time it was read.
 */
last_read: Timestamp | null, 
/**
 * Unreachable (or unreadable) since; none while it reads.
 */
failing_since: Timestamp | null, 
/**
 * What went wrong last, in words.
 */
last_error: string | null, };

export type GraphPresence = { availability: string, activity: string, };

export type MatrixPresence = { presence: string, status_msg: string | null, currently_active: boolean, };

export type XmppPresence = { available: boolean, show: string | null, status: string | null, };

export type BridgePerson = { user: UserId, email: string, name: string, 
/**
 * What teammates see (Invisible is Offline).
 */
view: TeamView, graph: GraphPresence, matrix: MatrixPresence, xmpp: XmppPresence, };

export type BridgePresence = { people: Array<BridgePerson>, };

export type AdminTeam = { id: string, name: string, members: Array<UserId>, };

export type AdminTeams = { teams: Array<AdminTeam>, };

export type TeamName = { name: string, };

export type AuditEntry = { id: string, at: Timestamp, 
/**
 * The administrator; none for the command line.
 */
actor_id: UserId | null, 
/**
 * Who, in words (an administrator's name and email, or the command line).
 */
actor: string, 
/**
 * What, as a stable word: `user.create`, `user.deactivate`, `team.rename`, …
 */
action: string, 
/**
 * On what: an id, with its name or email.
 */
target: string, detail: string, };

export type AuditPage = { entries: Array<AuditEntry>, 
/**
 * The `before` of the next (older) page; none at the end.
 */
next_before: Timestamp | null, 
/**
 * The `before_id` of the next page, with `next_before`: entries of one millisecond are
 * paged by id, none skipped.
 */
next_before_id: string | null, };

export type AuditQuery = { 
/**
 * Entries older than this (milliseconds since the epoch).
 */
before: number | null, 
/**
 * With `before`: also the entries of that millisecond whose id sorts before this one
 * (`next_before_id` of the previous page).
 */
before_id: string | null, 
/**
 * 1 to 500; 100 when absent.
 */
limit: number | null, };

export type CustomStatuses = { statuses: Array<CustomStatus>, 
/**
 * The ids someone has chosen now (these cannot be deleted; disable them instead).
 */
in_use: Array<CustomStatusId>, };

export type OrgRules = { policy: OrgPolicy, quiet_hours: Array<WeeklyWindow>, do_not_disturb: Array<WeeklyWindow>, forward_to_phone_enabled: boolean, 
/**
 * The organisation's changes to built-in statuses.
 */
builtin: Array<BuiltinOverride>, 
/**
 * Every built-in status as it is in this organisation (offered or not, its policy).
 */
builtin_statuses: Array<StatusEntry>, };

export type DirectoryEntry = { 
/**
 * Name, time zone and what teammates see (Invisible shows as Offline).
 */
member: Member, email: string, teams: Array<TeamRef>, };

export type Directory = { people: Array<DirectoryEntry>, 
/**
 * More matched than were returned: narrow the search.
 */
more: boolean, };

export type DirectoryQuery = { 
/**
 * Words to find in a name, email or team name (all of them, any case).
 */
q: string | null, 
/**
 * Only people shown in this family: available, busy, away, do_not_disturb, offline.
 */
family: Family | null, 
/**
 * 1 to 200; 50 when absent.
 */
limit: number | null, };

/** The events the app sends the window (protocol::ipc::events). */
export const EVENTS = {
  presenceChanged: "presence-changed",
  teamChanged: "team-changed",
  centerChanged: "center-changed",
  showCenter: "show-center",
  focusMessage: "focus-message",
  showSettings: "show-settings",
  themeChanged: "theme-changed",
} as const;

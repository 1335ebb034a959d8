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

export type Glyph = "check" | "dot" | "clock" | "line" | "cross" | "phone" | "calendar" | "pencil" | "forward" | "emoji";

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
last_seen: Timestamp | null, };

export type SelfView = { status: StatusView, message: MessageView | null, interruptibility: Interruptibility, 
/**
 * Exactly what teammates see, shown beside the status when it differs (Invisible).
 */
seen_by_others: TeamView, };

export type ClaimSource = "manual" | "timed" | "call" | "meeting" | "after_call_work" | "admin" | "schedule" | "idle" | "inactivity" | "no_device" | "automatic";

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
next: NextChange | null, seen_by_others: StatusId, };

export type DeviceActivity = { "state": "active" } | { "state": "idle", idle_for: Span, } | { "state": "locked", locked_for: Span, };

export type DeviceReport = { device: DeviceId, seq: bigint, activity: DeviceActivity, in_call: boolean, };

export type ClearAfter = { "kind": "never" } | { "kind": "thirty_minutes" } | { "kind": "one_hour" } | { "kind": "four_hours" } | { "kind": "today" } | { "kind": "this_week" } | { "kind": "at", "at": Timestamp };

export type HoldReason = { "reason": "status", status: StatusId, } | { "reason": "paused", until: Timestamp, } | { "reason": "quiet_hours", until: Timestamp, } | { "reason": "no_device" };

export type Delivery = { "delivery": "show" } | { "delivery": "hold", why: HoldReason, } | { "delivery": "break_through", why: HoldReason, };

export type BusyAction = { "action": "engaged_tone" } | { "action": "voicemail" } | { "action": "message" } | { "action": "redirect_user", "target": UserId } | { "action": "redirect_team", "target": TeamId } | { "action": "redirect_menu", "target": string } | { "action": "redirect_number", "target": PhoneNumber };

export type RequestId = string;

export type NotificationSeq = number;

export type ClientMessage = { "type": "hello", protocol: number, token: string, device: DeviceId, 
/**
 * Deliver every notification after this one (none: from the start of what is unread).
 */
resume_after: NotificationSeq | null, } | { "type": "set_status", request: RequestId, status: StatusId, until: Timestamp | null, } | { "type": "set_message", request: RequestId, text: MessageText, emoji: Emoji | null, clear_after: ClearAfter, } | { "type": "clear_message", request: RequestId, } | { "type": "pause_notifications", request: RequestId, until: Timestamp | null, } | { "type": "device_report", report: DeviceReport, } | { "type": "mark_read", request: RequestId, notifications: Array<NotificationSeq>, } | { "type": "dismiss", request: RequestId, notifications: Array<NotificationSeq>, } | { "type": "mark_all_read", request: RequestId, } | { "type": "heartbeat" };

export type Member = { user: UserId, name: string, 
/**
 * IANA time zone, for the teammate's local time.
 */
time_zone: string, view: TeamView, };

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

export type ErrorKind = "too_large" | "malformed" | "unknown_type" | "unsupported_version" | "unauthorized" | "forbidden" | "not_found" | "invalid" | "rate_limited" | "internal";

export type WireError = { kind: ErrorKind, message: string, };

export type ServerMessage = { "type": "welcome", protocol: number, user: UserId, device: DeviceId, server_time: Timestamp, 
/**
 * The newest notification sequence at the moment of the welcome.
 */
cursor: NotificationSeq, } | { "type": "team_snapshot", members: Array<Member>, } | { "type": "presence_delta", user: UserId, view: TeamView, } | { "type": "self_update", view: SelfView, } | { "type": "notification", notification: Notification, } | { "type": "notifications_changed", notifications: Array<NotificationSeq>, read: boolean, dismissed: boolean, } | { "type": "ack", request: RequestId, } | { "type": "error", request: RequestId | null, error: WireError, } | { "type": "heartbeat_ack", server_time: Timestamp, };

export type Snapshot = { me: SelfView, statuses: Array<StatusEntry>, 
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
connection: string, };

export type TeamPanel = { members: Array<Member>, stale_since: Timestamp | null, };

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
 * Away after this many minutes without input; none: the organisation's threshold.
 */
idle_after_minutes: number | null, 
/**
 * Quiet hours every day (notifications held, status unchanged); none: no quiet hours.
 */
quiet_from: number | null, quiet_to: number | null, 
/**
 * Show desktop notifications (off: everything still lands in the center).
 */
desktop_notifications: boolean, start_on_login: boolean, };

export type CommandError = { kind: string, message: string, };

// Shapes of what the app's commands return. The protocol crate's generated types replace these
// once the app syncs with a server; until then they mirror `presence`'s serde output.

export type Family = "available" | "busy" | "away" | "do_not_disturb" | "offline";
export type Glyph =
  | "check" | "dot" | "clock" | "line" | "cross" | "phone" | "calendar" | "pencil" | "forward" | "emoji";

export interface StatusView {
  status: string;
  label: string;
  family: Family;
  colour: "green" | "red" | "amber" | "gray";
  glyph: Glyph;
  emoji: string | null;
  since: number;
  until: number | null;
}

export interface MessageView {
  text: string;
  emoji: string | null;
  expires: number | null;
}

export type Interruptibility =
  | { state: "normal" }
  | { state: "do_not_disturb"; until: number | null }
  | { state: "paused"; until: number }
  | { state: "quiet_hours"; until: number };

export interface TeamView {
  status: StatusView;
  message: MessageView | null;
  last_seen: number | null;
}

export interface SelfView {
  status: StatusView;
  message: MessageView | null;
  interruptibility: Interruptibility;
  seen_by_others: TeamView;
}

export interface StatusEntry {
  id: string;
  label: string;
  emoji: string | null;
  enabled: boolean;
  policy: { family: Family; glyph: Glyph };
}

export interface Snapshot {
  me: SelfView;
  statuses: StatusEntry[];
  paused_until: number | null;
}

export interface ClaimLine {
  status: string;
  label: string;
  source: string;
  because: string;
  priority: number;
  device: string | null;
  since: number;
  until: number | null;
  standing: "winner" | "below" | "nested" | "suspended";
}

export interface Explanation {
  winner: ClaimLine;
  others: ClaimLine[];
  when_this_ends: string;
  next: { at: number; status: string; label: string } | null;
  seen_by_others: string;
}

export interface CommandError {
  kind: string;
  message: string;
}

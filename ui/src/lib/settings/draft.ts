// The settings form's working copy, and where a refusal is shown. The rules themselves are the
// engine's (Preferences::check, the value types): the form only builds what it sends and shows
// what comes back, beside the setting it is about.
import type { BusyAction, CommandError, Member, PersonalStatus, Settings, WeeklyWindow } from "../types";

export type Draft = {
  autoAway: boolean;
  /** A number input binds a number, or null when empty. */
  idle: number | null;
  timeZone: string;
  workingHours: WeeklyWindow[];
  quietHours: WeeklyWindow[];
  dndSchedule: WeeklyWindow[];
  urgent: string[];
  busy: string;
  busyTarget: string;
  outOfHours: string;
  outOfHoursTarget: string;
  forwardTo: string;
  oooOn: boolean;
  /** Shown in the computer's local time, as datetime-local values. */
  oooFrom: string;
  oooUntil: string;
  oooMessage: string;
  mine: PersonalStatus[];
  notifications: boolean;
  startOnLogin: boolean;
  callDetection: boolean;
  callApps: string;
  desktopDnd: string;
  quietDesktop: boolean;
};

export type Person = { id: string; name: string };

export function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const kind = (a: BusyAction) => a.action;
const target = (a: BusyAction) => ("target" in a ? a.target : "");

export function draftOf(s: Settings): Draft {
  const ooo = s.out_of_office;
  const start = new Date();
  start.setSeconds(0, 0);
  start.setMinutes(start.getMinutes() + 1);
  const back = new Date();
  back.setDate(back.getDate() + 1);
  back.setHours(9, 0, 0, 0);
  return {
    autoAway: s.auto_away,
    idle: s.idle_after_minutes,
    timeZone: s.time_zone,
    workingHours: structuredClone(s.working_hours),
    quietHours: structuredClone(s.quiet_hours),
    dndSchedule: structuredClone(s.dnd_schedule),
    urgent: [...s.urgent_from],
    busy: kind(s.call.busy_action),
    busyTarget: target(s.call.busy_action),
    outOfHours: s.call.out_of_hours ? kind(s.call.out_of_hours) : "",
    outOfHoursTarget: s.call.out_of_hours ? target(s.call.out_of_hours) : "",
    forwardTo: s.call.forward_to ?? "",
    oooOn: ooo !== null,
    oooFrom: localInput(ooo?.from ?? start.getTime()),
    oooUntil: localInput(ooo?.until ?? back.getTime()),
    oooMessage: ooo?.message ?? "",
    mine: structuredClone(s.statuses ?? []),
    notifications: s.desktop_notifications,
    startOnLogin: s.start_on_login,
    callDetection: s.call_detection,
    callApps: s.call_apps.join(", "),
    desktopDnd: s.desktop_dnd,
    quietDesktop: s.quiet_desktop,
  };
}

/** Everyone who can be picked: teammates, and anyone already chosen who is not one. */
export function peopleOf(members: Member[], chosen: string[]): Person[] {
  return [
    ...members.map((m) => ({ id: m.user, name: m.name })),
    ...chosen.filter((u) => !members.some((m) => m.user === u)).map((u) => ({ id: u, name: `${u} (not in your teams)` })),
  ];
}

/** The fieldsets of the form, each showing the refusals about its settings. */
export type Fieldset = "out_of_office" | "statuses" | "presence" | "notifications" | "calls" | "computer" | "form";

/** A refusal in words, and the fieldset it belongs beside. */
export type Refusal = { fieldset: Fieldset; message: string };

const FIELDSETS: Record<string, Fieldset> = {
  out_of_office: "out_of_office",
  statuses: "statuses",
  time_zone: "presence",
  auto_away: "presence",
  idle_after: "presence",
  idle_after_minutes: "presence",
  working_hours: "presence",
  dnd_schedule: "presence",
  "schedule.working_hours": "presence",
  "schedule.do_not_disturb": "presence",
  quiet_hours: "notifications",
  "schedule.quiet_hours": "notifications",
  urgent_from: "notifications",
  breakthrough: "notifications",
  desktop_notifications: "notifications",
  call: "calls",
  start_on_login: "computer",
  call_detection: "computer",
  call_apps: "computer",
  desktop_dnd: "computer",
  quiet_desktop: "computer",
};

/** Where the app's refusal (a CommandError, with the setting it is about) is shown. */
export function refusalOf(e: unknown): Refusal {
  if (typeof e === "object" && e !== null && "message" in e) {
    const err = e as CommandError;
    return { fieldset: (err.field && FIELDSETS[err.field]) || "form", message: err.message };
  }
  return { fieldset: "form", message: String(e) };
}

/** An id made from the name ("At a client site" → "at-a-client-site"), unique in the list. */
export function slug(name: string, taken: string[]): string {
  const base = name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "status";
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

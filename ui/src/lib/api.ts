import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { About, CalendarSource, CalendarState, CenterItem, ChangeRequest, CommandError, Devices, Directory, Explanation, Family, Favourites, Settings, Snapshot, TeamPanel } from "./types";
import { EVENTS } from "./generated";

export const api = {
  snapshot: () => invoke<Snapshot>("get_snapshot"),
  explain: () => invoke<Explanation>("explain"),
  /** Every change the person makes; the new state arrives as a presence-changed event. */
  change: (request: ChangeRequest) => invoke<void>("change", { request }),
  team: () => invoke<TeamPanel>("get_team"),
  myDevices: () => invoke<Devices>("my_devices"),
  signOutDevice: (device: string) => invoke<void>("sign_out_device", { device }),
  changePassword: (current: string, next: string, signOutOthers: boolean) =>
    invoke<void>("change_password", { current, new: next, signOutOthers }),
  favourites: () => invoke<Favourites>("get_favourites"),
  setFavourite: (user: string, on: boolean) => invoke<void>("set_favourite", { user, on }),
  /** Ask once to be told when they become Available (`on`), or stop waiting. */
  setAlert: (user: string, on: boolean) => invoke<void>("set_alert", { user, on }),
  /** A person's photo as a data: URL (kept on this computer); null: show initials. */
  face: (user: string, version: string, size: number) => invoke<string | null>("get_face", { user, version, size }),
  /** The file's bytes go as the request's body. */
  setPhoto: (bytes: Uint8Array) => invoke<void>("set_photo", bytes),
  removePhoto: () => invoke<void>("remove_photo"),
  /** The calendar the server follows for the person (null: none). */
  calendar: () => invoke<CalendarState | null>("get_calendar"),
  setCalendar: (source: CalendarSource) => invoke<CalendarState>("set_calendar", { source }),
  removeCalendar: () => invoke<void>("remove_calendar"),
  searchDirectory: (query: string, family: Family | null) =>
    invoke<Directory>("search_directory", { query, family }),
  /** Keeps the directory's results on screen live (their views arrive in `team-changed`). */
  watchPeople: (people: string[]) => invoke<void>("watch_people", { people }),
  center: () => invoke<CenterItem[]>("get_center"),
  markRead: (seqs: number[]) => invoke<void>("mark_read", { seqs }),
  open: (seq: number) => invoke<string | null>("open_notification", { seq }),
  dismiss: (seqs: number[]) => invoke<void>("dismiss", { seqs }),
  markAllRead: () => invoke<void>("mark_all_read"),
  settings: () => invoke<Settings>("get_settings"),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
  signIn: (server: string, email: string, password: string, deviceName: string | null = null) =>
    invoke<void>("sign_in", { server, email, password, deviceName }),
  /** Single sign-on: the system browser at the organisation's provider; resolves once signed in. */
  signInSso: (server: string, email: string, deviceName: string | null = null) =>
    invoke<void>("sign_in_sso", { server, email, deviceName }),
  redeemCode: (server: string, code: string, password: string, name: string | null, deviceName: string | null = null) =>
    invoke<void>("redeem_code", { server, code, password, name, deviceName }),
  useWithoutServer: () => invoke<void>("use_without_server"),
  signOut: () => invoke<void>("sign_out"),
  about: () => invoke<About>("get_about"),
  openUpdate: () => invoke<void>("open_update"),
  /** The tray's compact panel: opened (as its menu entry does), closed, and the way to the window. */
  openPopover: () => invoke<void>("open_popover"),
  /** The window's theme, for the quick panel (kept by the app, told to every window). */
  setTheme: (theme: string) => invoke<void>("set_theme", { theme }),
  theme: () => invoke<string>("get_theme"),
  onTheme: (f: (theme: string) => void): Promise<UnlistenFn> => listen<string>(EVENTS.themeChanged, (e) => f(e.payload)),
  closePopover: () => invoke<void>("close_popover"),
  showMain: (to: { seq?: number; center?: boolean; settings?: boolean }) =>
    invoke<void>("show_main", { seq: to.seq ?? null, center: to.center ?? null, settings: to.settings ?? null }),
  onChange: (f: (s: Snapshot) => void): Promise<UnlistenFn> =>
    listen<Snapshot>(EVENTS.presenceChanged, (e) => f(e.payload)),
  onTeam: (f: (t: TeamPanel) => void): Promise<UnlistenFn> =>
    listen<TeamPanel>(EVENTS.teamChanged, (e) => f(e.payload)),
  onCenter: (f: () => void): Promise<UnlistenFn> => listen(EVENTS.centerChanged, () => f()),
  /** "Set status message…" in the tray: put the cursor in the message field. */
  /** The tray panel's "Settings": open them. */
  onShowSettings: (f: () => void): Promise<UnlistenFn> => listen(EVENTS.showSettings, () => f()),
  onFocusMessage: (f: () => void): Promise<UnlistenFn> => listen(EVENTS.focusMessage, () => f()),
  /** A desktop notification or the tray's center item: show the center (at that notification, if any). */
  onShowCenter: (f: (seq: number | null) => void): Promise<UnlistenFn> =>
    listen<number | null>(EVENTS.showCenter, (e) => f(e.payload)),
};

export function errorMessage(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) return (e as CommandError).message;
  return String(e);
}

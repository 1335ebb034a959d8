import type { Glyph } from "./types";

/** A text glyph for each status shape, so that status never relies on colour alone. */
export function glyphText(glyph: Glyph, emoji: string | null = null): string {
  if (emoji) return emoji;
  const map: Record<Glyph, string> = {
    check: "✓",
    dot: "●",
    clock: "◷",
    line: "⊖",
    cross: "⊗",
    phone: "☎",
    calendar: "▦",
    pencil: "✎",
    forward: "↪",
    plane: "✈",
    emoji: "",
  };
  return map[glyph];
}

export function formatTime(ms: number | null): string {
  if (ms === null) return "";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Minutes from `now` to the next time the clock shows `hhmm`: today, or tomorrow if past. */
export function minutesUntil(hhmm: string, now: Date = new Date()): number {
  const [h, m] = hhmm.split(":").map(Number);
  const at = new Date(now);
  at.setHours(h, m, 0, 0);
  if (at <= now) at.setDate(at.getDate() + 1);
  return Math.round((at.getTime() - now.getTime()) / 60_000);
}

/** Minutes from `now` to tomorrow at `hour`:00, as the tray's "until tomorrow" pause. */
export function minutesUntilTomorrow(hour: number, now: Date = new Date()): number {
  const at = new Date(now);
  at.setDate(at.getDate() + 1);
  at.setHours(hour, 0, 0, 0);
  return Math.round((at.getTime() - now.getTime()) / 60_000);
}

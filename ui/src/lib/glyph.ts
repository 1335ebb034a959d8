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
    emoji: "",
  };
  return map[glyph];
}

export function formatTime(ms: number | null): string {
  if (ms === null) return "";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

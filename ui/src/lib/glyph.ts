import type { DeviceKind, Glyph, Platform } from "./types";

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

/** A platform in words, as a device's line says it. */
export function platformName(p: Platform): string {
  const names: Record<Platform, string> = {
    linux: "Linux", macos: "macOS", windows: "Windows", android: "Android", ios: "iOS",
    web: "web browser", cli: "command line", other: "",
  };
  return names[p];
}

/** A device as its person knows it: its name and platform, or its id when it never said. */
export function deviceName(d: { device: string; name?: string | null; platform?: Platform }): string {
  const platform = d.platform ? platformName(d.platform) : "";
  if (d.name) return platform ? `${d.name} (${platform})` : d.name;
  return platform ? `${d.device} (${platform})` : d.device;
}

/** The small mark of the kind of device that makes a teammate reachable, and its words. */
export function reachableMark(kind: DeviceKind | null | undefined): { mark: string; words: string } | null {
  switch (kind) {
    case "desktop": return { mark: "🖥", words: "on a computer" };
    case "mobile": return { mark: "📱", words: "on mobile" };
    case "web": return { mark: "🌐", words: "in a browser" };
    default: return null;
  }
}

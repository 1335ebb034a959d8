/**
 * How a person is drawn: their photo when they have one, else their initials on a colour chosen
 * from their id (the same on every device and in the console), white on a colour dark enough
 * for WCAG AA (4.5:1). Photos come through a loader each surface sets once: the app asks its
 * Rust side (kept on disk), the console fetches them with its token.
 */

/** The sizes the server stores; a request is rounded up to one. */
export const SIZES = [32, 64, 128, 256] as const;

/** Backgrounds for initials, each at least 4.5:1 against white text. */
export const INITIALS_COLOURS = [
  "#1f5fbf", "#6b4fbb", "#b03a2e", "#2d6a4f", "#8a5a00",
  "#3b4cc0", "#a0306e", "#4a5568", "#0f766e", "#9a3412",
] as const;

/** Up to two letters: the first of the first and last words of a name ("Ana María Ruiz" → "AR"); an email's name part when the name is an email. */
export function initials(name: string): string {
  const base = name.includes("@") ? name.split("@")[0] : name;
  // Words of letters and digits: "You (demo)" is "YD", "jean-luc.picard" is "JP".
  const words = base.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
  if (words.length === 0) return "?";
  const first = (w: string) => Array.from(w)[0].toLocaleUpperCase();
  return words.length === 1 ? first(words[0]) : first(words[0]) + first(words[words.length - 1]);
}

/** The colour of a person's initials: the same for the same id everywhere (FNV-1a). */
export function colourFor(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return INITIALS_COLOURS[h % INITIALS_COLOURS.length];
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
export function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The stored size to ask for, to draw `px` CSS pixels sharply on this screen. */
export function storedSize(px: number, scale = globalThis.devicePixelRatio || 1): number {
  const want = Math.ceil(px * scale);
  return SIZES.find((s) => s >= want) ?? SIZES[SIZES.length - 1];
}

export type FaceLoader = (user: string, version: string, size: number) => Promise<string | null>;

let loader: FaceLoader = async () => null;
const kept = new Map<string, Promise<string | null>>();
const KEEP = 500;

/** Sets where photos come from (once, at start). */
export function setFaceLoader(next: FaceLoader) {
  loader = next;
  kept.clear();
}

/** A URL for `user`'s photo `version` at `size` (a stored size), asked once per version and size; null: draw initials. */
export function faceUrl(user: string, version: string, size: number): Promise<string | null> {
  const key = `${user}\n${version}\n${size}`;
  let url = kept.get(key);
  if (!url) {
    url = loader(user, version, size).catch(() => null);
    kept.set(key, url);
    if (kept.size > KEEP) kept.delete(kept.keys().next().value as string);
  }
  return url;
}

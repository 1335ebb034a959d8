/** The window's theme: the desktop's light or dark preference, or one chosen in Settings. */
export type Theme = "system" | "light" | "dark";

const KEY = "presently.theme";

/** The theme chosen on this computer; "system" when none was chosen (or storage is unavailable). */
export function savedTheme(): Theme {
  try {
    const t = localStorage.getItem(KEY);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    return "system";
  }
}

let told: (theme: Theme) => void = () => undefined;

/** Someone to tell whenever a theme is applied here (the app tells its other windows). */
export function onThemeApplied(f: (theme: Theme) => void) {
  told = f;
}

/** Shows a theme in this document only (a theme chosen in another window). */
export function showTheme(theme: Theme) {
  if (theme === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.dataset.theme = theme;
}

/** Applies a theme to the document at once and remembers it for the next start. */
export function applyTheme(theme: Theme) {
  showTheme(theme);
  told(theme);
  try {
    if (theme === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    // A webview without storage still switches theme for this run.
  }
}

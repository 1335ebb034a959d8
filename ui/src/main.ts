import { mount } from "svelte";
import App from "./App.svelte";
import Popover from "./Popover.svelte";
import { applyTheme, onThemeApplied, savedTheme, showTheme, type Theme } from "./lib/theme";
import { setFaceLoader } from "./lib/faces";
import { api } from "./lib/api";
import "./lib/design/tokens.css";

setFaceLoader(api.face);

const popover = location.hash === "#popover";
if (popover) {
  // The quick panel shows the theme chosen in the window, now and whenever it changes.
  api.theme().then((t) => showTheme(t as Theme), () => undefined);
  api.onTheme((t) => showTheme(t as Theme));
} else {
  onThemeApplied((t) => api.setTheme(t).catch(() => undefined));
  // Before the first paint, so a dark theme does not flash light.
  applyTheme(savedTheme());
}

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
// The tray's compact panel is this page at #popover, in its own borderless window.
export default mount(popover ? Popover : App, { target });

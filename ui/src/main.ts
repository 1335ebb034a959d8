import { mount } from "svelte";
import App from "./App.svelte";
import { applyTheme, savedTheme } from "./lib/theme";
import { setFaceLoader } from "./lib/faces";
import { api } from "./lib/api";
import "./lib/design/tokens.css";

setFaceLoader(api.face);

// Before the first paint, so a dark theme does not flash light.
applyTheme(savedTheme());

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
export default mount(App, { target });

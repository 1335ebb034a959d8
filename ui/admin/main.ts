import { mount } from "svelte";
import Console from "./Console.svelte";
import { faceUrl } from "./client";
import { setFaceLoader } from "../src/lib/faces";
import "../src/lib/design/tokens.css";

// People's photos, fetched with the administrator's token.
setFaceLoader(faceUrl);

mount(Console, { target: document.getElementById("app")! });

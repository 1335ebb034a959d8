import { mount } from "svelte";
import Console from "./Console.svelte";

mount(Console, { target: document.getElementById("app")! });

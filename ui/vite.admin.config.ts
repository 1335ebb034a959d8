import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The server's web admin console: built into `dist-admin/`, which `presently-server` embeds and
// serves at /admin (the server stays one file).
export default defineConfig({
  root: "admin",
  base: "/admin/",
  plugins: [svelte()],
  clearScreen: false,
  build: { outDir: "../dist-admin", emptyOutDir: true, target: "es2021" },
});

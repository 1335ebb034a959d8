import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CommandError, Explanation, Snapshot } from "./types";

export const api = {
  snapshot: () => invoke<Snapshot>("get_snapshot"),
  explain: () => invoke<Explanation>("explain"),
  setStatus: (status: string, until: number | null = null) =>
    invoke<Snapshot>("set_status", { status, until }),
  onChange: (f: (s: Snapshot) => void): Promise<UnlistenFn> =>
    listen<Snapshot>("presence-changed", (e) => f(e.payload)),
};

export function errorMessage(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) return (e as CommandError).message;
  return String(e);
}

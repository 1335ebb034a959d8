import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import MessageEditor from "./MessageEditor.svelte";
import type { Snapshot } from "./types";

const me = {
  status: { status: "available", label: "Available", family: "available", colour: "green", glyph: "check", emoji: null, since: 0, until: null },
  message: null,
  interruptibility: { state: "normal" },
} as const;

function snapshot(paused_until: number | null = null): Snapshot {
  return {
    me: { ...me, seen_by_others: { status: me.status, message: null, last_seen: null, reachable_on: null } },
    statuses: [],
    myself: null,
    paused_until,
    unread: 0,
    connection: "Connected",
    update: null,
  } as Snapshot;
}

function props(s: Snapshot) {
  return { snapshot: s, onchange: vi.fn() };
}

describe("MessageEditor", () => {
  it("sets a message with an emoji and a clear-after, and clears it when empty", async () => {
    const p = props(snapshot());
    render(MessageEditor, p);
    await fireEvent.input(screen.getByLabelText("Emoji"), { target: { value: "🎨" } });
    await fireEvent.input(screen.getByLabelText("Status message"), { target: { value: "Reviewing designs" } });
    await fireEvent.change(screen.getByLabelText("Clear after"), { target: { value: "one_hour" } });
    await fireEvent.click(screen.getByRole("button", { name: "Set message" }));
    expect(p.onchange).toHaveBeenCalledWith({
      kind: "change",
      change: { kind: "set_message", text: "Reviewing designs", emoji: "🎨", clear_after: { kind: "one_hour" } },
    });
    await fireEvent.click(screen.getByRole("button", { name: "Clear message" }));
    expect(p.onchange).toHaveBeenLastCalledWith({ kind: "change", change: { kind: "clear_message" } });
  });

  it("turns on Do not disturb for a duration or until a time, for the app to resolve on its clock", async () => {
    const p = props(snapshot());
    render(MessageEditor, p);
    await fireEvent.click(screen.getByRole("button", { name: "2 hours" }));
    expect(p.onchange).toHaveBeenCalledWith({ kind: "status_for", status: "do_not_disturb", minutes: 120 });
    const set = screen.getByRole("button", { name: "Set" }) as HTMLButtonElement;
    expect(set.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("Do not disturb until"), { target: { value: "23:59" } });
    await fireEvent.click(set);
    expect(p.onchange).toHaveBeenLastCalledWith({ kind: "status_until_time", status: "do_not_disturb", hour: 23, minute: 59 });
  });

  it("pauses for the chosen time, as the tray does, and resumes", async () => {
    const p = props(snapshot());
    const { unmount } = render(MessageEditor, p);
    const select = screen.getByLabelText("Pause notifications") as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: "30" } });
    expect(p.onchange).toHaveBeenCalledWith({ kind: "pause_for", minutes: 30 });
    expect(select.value).toBe("");
    await fireEvent.change(select, { target: { value: "tomorrow" } });
    expect(p.onchange).toHaveBeenLastCalledWith({ kind: "pause_until_tomorrow" });
    unmount();

    const paused = props(snapshot(Date.now() + 3_600_000));
    render(MessageEditor, paused);
    await fireEvent.click(screen.getByRole("button", { name: "Resume notifications" }));
    expect(paused.onchange).toHaveBeenCalledWith({ kind: "change", change: { kind: "resume_notifications" } });
  });
});

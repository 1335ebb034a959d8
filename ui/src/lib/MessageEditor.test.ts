import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import MessageEditor from "./MessageEditor.svelte";
import { minutesUntilTomorrow } from "./glyph";
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
    paused_until,
    unread: 0,
    connection: "Connected",
    update: null,
  } as Snapshot;
}

function props(s: Snapshot) {
  return { snapshot: s, onmessage: vi.fn(), ondnd: vi.fn(), onpause: vi.fn() };
}

describe("MessageEditor", () => {
  it("sets a message with an emoji and a clear-after, and clears it when empty", async () => {
    const p = props(snapshot());
    render(MessageEditor, p);
    await fireEvent.input(screen.getByLabelText("Emoji"), { target: { value: "🎨" } });
    await fireEvent.input(screen.getByLabelText("Status message"), { target: { value: "Reviewing designs" } });
    await fireEvent.change(screen.getByLabelText("Clear after"), { target: { value: "1h" } });
    await fireEvent.click(screen.getByRole("button", { name: "Set message" }));
    expect(p.onmessage).toHaveBeenCalledWith("Reviewing designs", "🎨", "1h");
    await fireEvent.click(screen.getByRole("button", { name: "Clear message" }));
    expect(p.onmessage).toHaveBeenLastCalledWith("", null, "1h");
  });

  it("turns on Do not disturb for a duration or until a time", async () => {
    const p = props(snapshot());
    render(MessageEditor, p);
    await fireEvent.click(screen.getByRole("button", { name: "2 hours" }));
    expect(p.ondnd).toHaveBeenCalledWith(120);
    const set = screen.getByRole("button", { name: "Set" }) as HTMLButtonElement;
    expect(set.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("Do not disturb until"), { target: { value: "23:59" } });
    await fireEvent.click(set);
    expect(p.ondnd).toHaveBeenCalledTimes(2);
    const minutes = p.ondnd.mock.calls[1][0];
    expect(minutes).toBeGreaterThan(0);
    expect(minutes).toBeLessThanOrEqual(24 * 60);
  });

  it("pauses for the chosen time, as the tray does, and resumes", async () => {
    const p = props(snapshot());
    const { unmount } = render(MessageEditor, p);
    const select = screen.getByLabelText("Pause notifications") as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: "30" } });
    expect(p.onpause).toHaveBeenCalledWith(30);
    expect(select.value).toBe("");
    await fireEvent.change(select, { target: { value: "tomorrow" } });
    const expected = minutesUntilTomorrow(8);
    expect(Math.abs(p.onpause.mock.calls[1][0] - expected)).toBeLessThanOrEqual(1);
    unmount();

    const paused = props(snapshot(Date.now() + 3_600_000));
    render(MessageEditor, paused);
    await fireEvent.click(screen.getByRole("button", { name: "Resume notifications" }));
    expect(paused.onpause).toHaveBeenCalledWith(null);
  });
});

import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import StatusPicker from "./StatusPicker.svelte";
import type { Family, Glyph, Snapshot, StatusEntry, StatusView } from "./types";

function view(status: string, label: string, family: StatusView["family"], glyph: StatusView["glyph"]): StatusView {
  return { status, label, family, colour: "green", glyph, emoji: null, since: 0, until: null };
}

function entry(id: string, label: string, family: Family, glyph: Glyph, emoji: string | null = null): StatusEntry {
  const policy = {
    family, colour: "green" as const, glyph, selectable: true, notifications: "deliver" as const,
    direct_call: "ring" as const, team_calls: true, assignable: true,
  };
  return { id, label, emoji, enabled: true, policy };
}

function snapshot(me: StatusView, others: StatusView = me): Snapshot {
  return {
    me: {
      status: me,
      message: null,
      interruptibility: { state: "normal" },
      seen_by_others: { status: others, message: null, last_seen: null },
    },
    statuses: [
      entry("available", "Available", "available", "check"),
      entry("do_not_disturb", "Do not disturb", "do_not_disturb", "line"),
      entry("custom:lunch", "Lunch", "away", "emoji", "🍽️"),
    ],
    paused_until: null,
    unread: 0,
    connection: "Connected",
  };
}

describe("StatusPicker", () => {
  it("shows the current status with a glyph and lets the person pick another", async () => {
    const onchoose = vi.fn();
    render(StatusPicker, { snapshot: snapshot(view("available", "Available", "available", "check")), onchoose });
    const button = screen.getByRole("button", { name: /Your status: Available/ });
    expect(screen.getByRole("img", { name: "Available" }).textContent).toContain("✓");
    await fireEvent.click(button);
    const items = screen.getAllByRole("menuitemradio");
    expect(items.map((i) => i.textContent?.trim())).toEqual(["✓ Available", "⊖ Do not disturb", "🍽️ Lunch"]);
    expect(items[0].getAttribute("aria-checked")).toBe("true");
    await fireEvent.click(items[1]);
    expect(onchoose).toHaveBeenCalledWith("do_not_disturb");
    expect(screen.queryByRole("menu")).toBeNull();
  });

  it("says what others see when it differs (Invisible)", () => {
    render(StatusPicker, {
      snapshot: snapshot(view("invisible", "Invisible", "offline", "cross"), view("offline", "Offline", "offline", "cross")),
      onchoose: () => {},
    });
    expect(screen.getByTestId("seen-by-others").textContent).toBe("Others see you as Offline");
  });

  it("does not repeat what others see when it is the same", () => {
    render(StatusPicker, { snapshot: snapshot(view("busy", "Busy", "busy", "dot")), onchoose: () => {} });
    expect(screen.queryByTestId("seen-by-others")).toBeNull();
  });
});

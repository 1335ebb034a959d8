import { describe, expect, it, vi } from "vitest";
import { tick } from "svelte";
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
      seen_by_others: { status: others, message: null, last_seen: null, reachable_on: null },
    },
    statuses: [
      entry("available", "Available", "available", "check"),
      entry("do_not_disturb", "Do not disturb", "do_not_disturb", "line"),
      entry("custom:lunch", "Lunch", "away", "emoji", "🍽️"),
    ],
    myself: { user: "u-me", name: "Ada Lovelace", time_zone: "UTC", avatar: null, view: { status: others, message: null, last_seen: null, reachable_on: null } },
    paused_until: null,
    unread: 0,
    connection: "Connected",
    update: null,
  };
}

describe("StatusPicker", () => {
  it("shows the current status with a glyph and lets the person pick another", async () => {
    const onchoose = vi.fn();
    render(StatusPicker, { snapshot: snapshot(view("available", "Available", "available", "check")), onchoose });
    const button = screen.getByRole("button", { name: /Your status: Available/ });
    // My face, with the badge of my status.
    expect(button.querySelector('[data-testid="avatar-initials"]')?.textContent).toBe("AL");
    expect(button.querySelector('[data-testid="presence-badge"]')?.getAttribute("data-family")).toBe("available");
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

  it("works from the keyboard alone: open on the current status, move, choose, escape", async () => {
    const onchoose = vi.fn();
    render(StatusPicker, { snapshot: snapshot(view("do_not_disturb", "Do not disturb", "do_not_disturb", "line")), onchoose });
    const button = screen.getByRole("button", { name: /Your status/ });
    button.focus();
    await fireEvent.keyDown(button, { key: "ArrowDown" });
    await tick();
    const items = screen.getAllByRole("menuitemradio");
    // Opens on the status in effect, not the first one.
    expect(document.activeElement).toBe(items[1]);
    const menu = screen.getByRole("menu");
    await fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(items[2]);
    await fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(items[0]); // wraps
    await fireEvent.keyDown(menu, { key: "End" });
    expect(document.activeElement).toBe(items[2]);
    await fireEvent.keyDown(menu, { key: "Home" });
    expect(document.activeElement).toBe(items[0]);
    await fireEvent.keyDown(menu, { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(button);
    expect(onchoose).not.toHaveBeenCalled();

    await fireEvent.keyDown(button, { key: "ArrowUp" });
    await tick();
    expect(document.activeElement?.textContent?.trim()).toBe("🍽️ Lunch");
    // Enter on a menu item is a click on its button.
    await fireEvent.click(document.activeElement as HTMLElement);
    expect(onchoose).toHaveBeenCalledWith("custom:lunch");
    expect(document.activeElement).toBe(button);
  });

  it("ends with the way to the status message and Do not disturb, reached by the keyboard too", async () => {
    const onmore = vi.fn();
    render(StatusPicker, { snapshot: snapshot(view("available", "Available", "available", "check")), onchoose: () => {}, onmore });
    const button = screen.getByRole("button", { name: /Your status/ });
    button.focus();
    await fireEvent.keyDown(button, { key: "ArrowUp" });
    await tick();
    // The last item, after the statuses.
    const more = screen.getByRole("menuitem", { name: /Status message, Do not disturb/ });
    expect(document.activeElement).toBe(more);
    await fireEvent.click(more);
    expect(onmore).toHaveBeenCalledOnce();
    expect(screen.queryByRole("menu")).toBeNull();
  });

  it("has no such item where nothing opens it (the quick panel)", async () => {
    render(StatusPicker, { snapshot: snapshot(view("available", "Available", "available", "check")), onchoose: () => {} });
    await fireEvent.click(screen.getByRole("button", { name: /Your status/ }));
    expect(screen.queryByRole("menuitem")).toBeNull();
  });

  it("closes when the person clicks elsewhere", async () => {
    render(StatusPicker, { snapshot: snapshot(view("available", "Available", "available", "check")), onchoose: () => {} });
    await fireEvent.click(screen.getByRole("button", { name: /Your status/ }));
    expect(screen.getByRole("menu")).toBeTruthy();
    await fireEvent.click(document.body);
    expect(screen.queryByRole("menu")).toBeNull();
  });
});

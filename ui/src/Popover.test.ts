import { beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import type { CenterItem, Family, Member, Snapshot, StatusView } from "./lib/types";

const calls = vi.hoisted(() => ({
  change: vi.fn(async () => undefined),
  closePopover: vi.fn(async () => undefined),
  showMain: vi.fn(async () => undefined),
}));

function view(status: string, label: string, family: Family): StatusView {
  return { status, label, family, colour: "green", glyph: "check", emoji: null, since: 0, until: null };
}

function member(user: string, name: string, family: Family, label: string): Member {
  return { user, name, time_zone: "UTC", avatar: null, view: { status: view(family, label, family), message: null, last_seen: null, reachable_on: null } };
}

const snapshot: Snapshot = {
  me: {
    status: view("available", "Available", "available"),
    message: { text: "Heads down", emoji: "🚀", expires: null },
    interruptibility: { state: "normal" },
    seen_by_others: { status: view("available", "Available", "available"), message: null, last_seen: null, reachable_on: null },
  },
  myself: member("u-me", "Ada Lovelace", "available", "Available"),
  statuses: [],
  paused_until: null,
  unread: 1,
  connection: "Connected",
  update: null,
};

const center: CenterItem[] = [1, 2, 3, 4].map((seq) => ({
  missed: seq === 1,
  notification: {
    seq, title: `Note ${seq}`, body: "", sender: null, urgent: false, created_at: 0,
    delivery: { delivery: "show" }, read: seq > 1, dismissed: false, link: null,
  },
})) as CenterItem[];

vi.mock("./lib/api", () => ({
  api: {
    snapshot: async () => snapshot,
    team: async () => ({ members: [member("u-z", "Zoe", "offline", "Offline"), member("u-b", "Ben", "busy", "Busy"), member("u-c", "Cy", "available", "Available")], favourites: ["u-z"], stale_since: null, glances: [] }),
    center: async () => center,
    onChange: async () => () => undefined,
    onTeam: async () => () => undefined,
    onCenter: async () => () => undefined,
    ...calls,
  },
  errorMessage: (e: unknown) => String(e),
}));

import Popover from "./Popover.svelte";

beforeEach(() => Object.values(calls).forEach((f) => f.mockClear()));

describe("Popover", () => {
  it("shows me, my teammates available first with their faces, and the latest notifications", async () => {
    render(Popover);
    await waitFor(() => expect(screen.getAllByTestId("popover-member")).toHaveLength(3));
    expect(screen.getByTestId("popover-name").textContent).toBe("Ada Lovelace");
    expect(screen.getByText(/Heads down/)).toBeTruthy();
    // Favourites first (Zoe is pinned), then by status.
    expect(screen.getAllByTestId("popover-member").map((r) => r.dataset.status)).toEqual(["offline", "available", "busy"]);
    expect(screen.getAllByTestId("popover-member")[1].querySelector('[data-testid="presence-badge"]')?.getAttribute("data-family")).toBe("available");
    // The three latest, the unread count, and a click goes to that notification in the window.
    await waitFor(() => expect(screen.getByText("Note 3")).toBeTruthy());
    expect(screen.queryByText("Note 4")).toBeNull();
    expect(screen.getByLabelText("1 unread")).toBeTruthy();
    await fireEvent.click(screen.getByText("Note 2"));
    expect(calls.showMain).toHaveBeenCalledWith({ seq: 2 });
  });

  it("sets Do not disturb for a while or until a time", async () => {
    render(Popover);
    await waitFor(() => expect(screen.getByRole("button", { name: "30 min" })).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "1 hour" }));
    expect(calls.change).toHaveBeenCalledWith({ kind: "status_for", status: "do_not_disturb", minutes: 60 });
    await fireEvent.click(screen.getByRole("button", { name: "Until…" }));
    await fireEvent.input(screen.getByLabelText("Do not disturb until"), { target: { value: "17:30" } });
    await fireEvent.click(screen.getByRole("button", { name: "Set" }));
    expect(calls.change).toHaveBeenCalledWith({ kind: "status_until_time", status: "do_not_disturb", hour: 17, minute: 30 });
  });

  it("closes on Escape, and leads to the window and its settings", async () => {
    render(Popover);
    await waitFor(() => expect(screen.getByRole("button", { name: "Open Presently" })).toBeTruthy());
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(calls.closePopover).toHaveBeenCalled();
    await fireEvent.click(screen.getByRole("button", { name: "Settings" }));
    expect(calls.showMain).toHaveBeenCalledWith({ settings: true });
    await fireEvent.click(screen.getByRole("button", { name: "Open Presently" }));
    expect(calls.showMain).toHaveBeenCalledWith({});
  });
});

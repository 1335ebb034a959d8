// Every surface of the window through axe-core (the accessibility engine browsers' tools use),
// rendered as a person meets them: no serious or critical violation. Colour contrast needs a
// real layout engine: the console's check in Chromium (crates/client/tests/console.rs) has it,
// and the design tokens' text colours are chosen for AA.
import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import axe from "axe-core";
import type { CenterItem, Family, Member, Snapshot, StatusView } from "./lib/types";
import Avatar from "./lib/Avatar.svelte";
import StatusPicker from "./lib/StatusPicker.svelte";
import PresencePanel from "./lib/PresencePanel.svelte";
import Directory from "./lib/Directory.svelte";
import NotificationCenter from "./lib/NotificationCenter.svelte";
import MessageEditor from "./lib/MessageEditor.svelte";
import PhotoPanel from "./lib/PhotoPanel.svelte";
import CalendarPanel from "./lib/CalendarPanel.svelte";

vi.mock("./lib/api", () => ({
  api: {
    snapshot: async () => snapshot,
    team: async () => ({ members, favourites: ["u-2"], stale_since: null, glances: [] }),
    center: async () => center,
    onChange: async () => () => undefined,
    onTeam: async () => () => undefined,
    onCenter: async () => () => undefined,
    change: async () => undefined,
    closePopover: async () => undefined,
    showMain: async () => undefined,
  },
  errorMessage: (e: unknown) => String(e),
}));

import Popover from "./Popover.svelte";

function view(status: string, label: string, family: Family): StatusView {
  return { status, label, family, colour: "green", glyph: "check", emoji: null, since: 0, until: null };
}

function member(user: string, name: string, family: Family): Member {
  return { user, name, time_zone: "UTC", avatar: null, view: { status: view(family, family, family), message: null, last_seen: null, reachable_on: "desktop" } };
}

const members = [member("u-1", "Ada Lovelace", "available"), member("u-2", "Ben Ng", "busy"), member("u-3", "Cy Oduya", "offline")];

const snapshot: Snapshot = {
  me: {
    status: view("available", "Available", "available"),
    message: { text: "Heads down", emoji: "🚀", expires: null },
    interruptibility: { state: "normal" },
    seen_by_others: { status: view("available", "Available", "available"), message: null, last_seen: null, reachable_on: null },
  },
  myself: member("u-me", "Dee Park", "available"),
  statuses: [
    { id: "available", label: "Available", emoji: null, enabled: true, policy: { family: "available", colour: "green", glyph: "check", selectable: true, notifications: "deliver", direct_call: "ring", team_calls: true, assignable: true } },
    { id: "do_not_disturb", label: "Do not disturb", emoji: null, enabled: true, policy: { family: "do_not_disturb", colour: "red", glyph: "line", selectable: true, notifications: "hold", direct_call: "voicemail", team_calls: false, assignable: false } },
  ],
  paused_until: null,
  unread: 1,
  connection: "Connected",
  update: null,
} as Snapshot;

const center = [
  { missed: true, notification: { seq: 2, title: "Customer call", body: "Follow up on Thursday", sender: "u-1", urgent: false, created_at: 0, delivery: { delivery: "hold", why: { reason: "status", status: "do_not_disturb" } }, read: false, dismissed: false, link: "https://example.com/t/2" } },
  { missed: false, notification: { seq: 1, title: "Build passed", body: "", sender: null, urgent: false, created_at: 0, delivery: { delivery: "show" }, read: true, dismissed: false, link: null } },
] as CenterItem[];

/** The serious and critical violations axe finds in what is rendered now. */
async function serious(container: Element): Promise<string[]> {
  const results = await axe.run(container, { rules: { "color-contrast": { enabled: false } } });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(" | ")})`);
}

describe("accessibility (axe-core)", () => {
  it("finds a serious violation when there is one (the check itself)", async () => {
    const div = document.createElement("div");
    div.innerHTML = '<button></button><img src="x.png">';
    document.body.appendChild(div);
    expect((await serious(div)).map((v) => v.split(":")[0]).sort()).toEqual(["button-name", "image-alt"]);
    div.remove();
  });

  it("the status menu, open, with my face", async () => {
    const { container } = render(StatusPicker, { snapshot, onchoose: vi.fn(), onmore: vi.fn() });
    await fireEvent.click(screen.getByRole("button", { name: /Your status/ }));
    expect(await serious(container)).toEqual([]);
  });

  it("the team panel with favourites, and faces", async () => {
    const { container } = render(PresencePanel, { panel: { members, favourites: ["u-2"], stale_since: null, glances: [] } });
    expect(await serious(container)).toEqual([]);
    const face = render(Avatar, { user: "u-9", name: "Eve Ross", avatar: null, size: 48, family: "away" });
    expect(await serious(face.container)).toEqual([]);
  });

  it("the directory with results, pins and requests", async () => {
    const found = { people: members.map((m) => ({ member: m, email: `${m.user}@x.test`, teams: [] })), more: false };
    const { container } = render(Directory, { search: async () => found, favourites: ["u-2"], waiting: ["u-3"] });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    await screen.findAllByTestId("person");
    expect(await serious(container)).toEqual([]);
  });

  it("the notification center with a missed one from a teammate", async () => {
    const { container } = render(NotificationCenter, { items: center, onread: vi.fn(), ondismiss: vi.fn(), onreadall: vi.fn(), onopen: vi.fn(), people: members });
    expect(await serious(container)).toEqual([]);
  });

  it("the status message and Do not disturb, and the photo", async () => {
    const editor = render(MessageEditor, { snapshot, onchange: vi.fn() });
    expect(await serious(editor.container)).toEqual([]);
    const photo = render(PhotoPanel, { myself: snapshot.myself!, setPhoto: vi.fn(), removePhoto: vi.fn() });
    expect(await serious(photo.container)).toEqual([]);
  });

  it("the calendar, unreachable", async () => {
    const load = async () => ({ kind: "ics", shown: "https://calendar.example/…", since: 0, last_read: null, failing_since: 1, last_error: "the calendar's address answered 404 Not Found" });
    const { container } = render(CalendarPanel, { load, save: vi.fn(), remove: vi.fn() });
    await screen.findByTestId("calendar-state");
    expect(await serious(container)).toEqual([]);
  });

  it("the tray's quick panel", async () => {
    const { container } = render(Popover);
    await waitFor(() => expect(screen.getAllByTestId("popover-member")).toHaveLength(3));
    expect(await serious(container)).toEqual([]);
  });
});

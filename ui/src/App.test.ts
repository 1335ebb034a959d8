// The whole window as it is put together: the people side's two tabs (Team, Everyone) from the
// pointer and the keyboard, and Settings as a page whose sections are listed beside it, saved
// from the button there. Checked by axe-core in each state.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import axe from "axe-core";
import type { About, Family, Member, Settings, Snapshot, StatusView } from "./lib/types";

function view(status: string, label: string, family: Family): StatusView {
  return { status, label, family, colour: "green", glyph: "check", emoji: null, since: 0, until: null };
}

function member(user: string, name: string, family: Family): Member {
  return { user, name, time_zone: "UTC", avatar: null, view: { status: view(family, family, family), message: null, last_seen: null, reachable_on: "desktop" } };
}

const members = [member("u-1", "Ada Lovelace", "available"), member("u-2", "Ben Ng", "busy")];

const snapshot = {
  me: {
    status: view("available", "Available", "available"),
    message: null,
    interruptibility: { state: "normal" },
    seen_by_others: { status: view("available", "Available", "available"), message: null, last_seen: null, reachable_on: null },
  },
  myself: member("u-me", "Dee Park", "available"),
  statuses: [],
  paused_until: null,
  unread: 0,
  connection: "Connected",
  update: null,
} as unknown as Snapshot;

const about: About = { version: "0.1.0", protocol: 3, server: "http://127.0.0.1:7878", server_version: "0.1.0", account: "dee@x.test", first_run: false, update: null };

const settings: Settings = {
  server: "http://127.0.0.1:7878",
  account: "dee@x.test",
  time_zone: "UTC",
  auto_away: true,
  idle_after_minutes: null,
  working_hours: [],
  quiet_hours: [],
  dnd_schedule: [],
  urgent_from: [],
  call: { busy_action: { action: "voicemail" }, out_of_hours: null, forward_to: null },
  out_of_office: null,
  statuses: [],
  limits: { auto_away: true, idle_after: 300_000, idle_after_min: 60_000, idle_after_max: 4 * 3_600_000, offline_after: null, forward_to_phone: true, teams: [] },
  unavailable: null,
  desktop_notifications: true,
  start_on_login: false,
  call_detection: true,
  call_apps: [],
  auto_away_unavailable: null,
  desktop_dnd: "dnd",
  quiet_desktop: true,
  desktop_dnd_unavailable: null,
};

const calls = vi.hoisted(() => ({ search: [] as string[], watched: [] as string[][], saved: [] as unknown[] }));

// The app's commands: what the window asks, answered as the app would; anything else resolves.
vi.mock("./lib/api", () => {
  const known: Record<string, unknown> = {
    about: async () => about,
    snapshot: async () => snapshot,
    team: async () => ({ members, favourites: [], stale_since: null, glances: [] }),
    center: async () => [],
    favourites: async () => ({ people: [], waiting: [] }),
    settings: async () => settings,
    saveSettings: async (s: Settings) => void calls.saved.push(s),
    searchDirectory: async (query: string) => {
      calls.search.push(query);
      return { people: [...members, member("u-9", "Eve Ross", "away")].map((m) => ({ member: m, email: `${m.user}@x.test`, teams: [] })), more: false };
    },
    watchPeople: async (people: string[]) => void calls.watched.push(people),
    myDevices: async () => ({ devices: [] }),
    calendar: async () => null,
    face: async () => null,
    theme: async () => "system",
  };
  const api = new Proxy(known, {
    get: (target, name: string) =>
      name in target ? target[name] : name.startsWith("on") ? async () => () => undefined : async () => undefined,
  });
  return { api, errorMessage: (e: unknown) => String(e) };
});

import App from "./App.svelte";

async function serious(container: Element): Promise<string[]> {
  const results = await axe.run(container, { rules: { "color-contrast": { enabled: false } } });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(" | ")})`);
}

describe("the window", () => {
  beforeEach(() => {
    calls.search.length = 0;
    calls.watched.length = 0;
    calls.saved.length = 0;
  });

  it("shows the team or everyone, as tabs the keyboard moves between", async () => {
    const { container } = render(App);
    const team = await screen.findByRole("tab", { name: /Team/ });
    await waitFor(() => expect(screen.getAllByTestId("member")).toHaveLength(2));
    expect(team.getAttribute("aria-selected")).toBe("true");
    expect(screen.queryByTestId("directory-search")).toBeNull();
    expect(await serious(container)).toEqual([]);

    // The arrow key moves to Everyone: the directory, searched as the person types.
    await fireEvent.keyDown(team, { key: "ArrowRight" });
    const everyone = screen.getByRole("tab", { name: "Everyone" });
    expect(everyone.getAttribute("aria-selected")).toBe("true");
    expect(team.getAttribute("tabindex")).toBe("-1");
    await fireEvent.input(screen.getByTestId("directory-search"), { target: { value: "eve" } });
    await waitFor(() => expect(screen.getAllByTestId("person")).toHaveLength(3));
    expect(calls.search).toContain("eve");
    expect(calls.watched[calls.watched.length - 1]).toEqual(["u-1", "u-2", "u-9"]);
    expect(screen.queryAllByTestId("member")).toHaveLength(0);
    expect(await serious(container)).toEqual([]);

    // Back to the team: the directory's people are no longer watched.
    await fireEvent.click(team);
    expect(team.getAttribute("aria-selected")).toBe("true");
    await waitFor(() => expect(calls.watched[calls.watched.length - 1]).toEqual([]));
    expect(screen.getAllByTestId("member")).toHaveLength(2);
  });

  it("opens Settings as a page with its sections beside it, saved from there", async () => {
    const { container } = render(App);
    await screen.findAllByTestId("member");
    await fireEvent.click(screen.getByRole("button", { name: "Settings" }));
    const nav = await screen.findByRole("navigation", { name: "Settings sections" });
    await waitFor(() =>
      expect(within(nav).getAllByRole("link").map((a) => a.textContent)).toEqual([
        "Out of office",
        "Your statuses",
        "Presence",
        "Notifications",
        "Calls",
        "This computer",
        "Server and sign-in",
        "Your photo",
        "Your calendar",
        "Your account",
        "About Presently",
      ]),
    );
    // Each entry leads to its section.
    for (const link of within(nav).getAllByRole("link")) {
      const target = document.getElementById(link.getAttribute("href")!.slice(1));
      expect(target?.textContent).toContain(link.textContent!);
    }
    // The people and the center give way to the page.
    expect(screen.queryByRole("tab", { name: /Team/ })).toBeNull();
    expect(screen.queryByRole("heading", { name: /Notifications/ })).toBeNull();
    expect(await serious(container)).toEqual([]);

    await fireEvent.click(within(nav).getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(calls.saved).toHaveLength(1));
    expect((calls.saved[0] as Settings).time_zone).toBe("UTC");
    await screen.findByText("Settings saved.");
    expect(screen.getByRole("tab", { name: /Team/ })).toBeTruthy();
  });
});

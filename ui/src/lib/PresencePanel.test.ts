import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import PresencePanel from "./PresencePanel.svelte";
import type { Family, Glyph, Member } from "./types";

function member(name: string, status: string, label: string, family: Family, glyph: Glyph): Member {
  return {
    user: name.toLowerCase(),
    name,
    time_zone: "Europe/Berlin",
    avatar: null,
    view: {
      status: { status, label, family, colour: "green", glyph, emoji: null, since: 1_800_000_000_000, until: null },
      message: status === "busy" ? { text: "Heads down", emoji: "🚀", expires: null } : null,
      last_seen: family === "offline" ? 1_800_000_000_000 : null,
      reachable_on: family === "offline" ? null : "desktop",
    },
  };
}

const team = {
  members: [
    member("Zoe", "offline", "Offline", "offline", "cross"),
    member("Ben", "busy", "Busy", "busy", "dot"),
    member("Ada", "available", "Available", "available", "check"),
  ],
  favourites: [] as string[],
  stale_since: null,
  glances: [],
};

describe("PresencePanel", () => {
  it("shows pinned people first, in their own group", () => {
    render(PresencePanel, { panel: { ...team, favourites: ["zoe"] } });
    const groups = screen.getAllByTestId("group").map((g) => g.textContent?.replace(/\s+\d+$/, "").trim());
    expect(groups).toEqual(["Favourites", "Available", "Busy"]);
    expect(screen.getAllByTestId("member").map((r) => r.dataset.status)).toEqual(["offline", "available", "busy"]);
  });

  it("lists teammates available first, with glyph, message and local time", () => {
    render(PresencePanel, { panel: team });
    const rows = screen.getAllByTestId("member");
    expect(rows.map((r) => r.dataset.status)).toEqual(["available", "busy", "offline"]);
    expect(rows[1].textContent).toContain("Heads down");
    expect(rows[1].textContent).toContain("●");
    expect(rows[2].textContent).toContain("last seen");
    expect(rows[0].textContent).toContain("local");
  });

  it("marks the kind of device that makes each teammate reachable", () => {
    const phone = member("Mo", "available", "Available", "available", "check");
    phone.view.reachable_on = "mobile";
    render(PresencePanel, { panel: { ...team, members: [...team.members, phone] } });
    const marks = Object.fromEntries(
      screen.getAllByTestId("member").map((r) => [
        r.querySelector(".name")?.textContent,
        r.querySelector("[data-testid=reachable-on]")?.getAttribute("aria-label") ?? null,
      ]),
    );
    expect(marks).toEqual({ Ada: "reachable on a computer", Ben: "reachable on a computer", Mo: "reachable on mobile", Zoe: null });
  });

  it("groups teammates by status, reachable first, each group with its count", () => {
    const more = { ...team, members: [...team.members, member("Cy", "available", "Available", "available", "check")] };
    render(PresencePanel, { panel: more });
    const headings = screen.getAllByTestId("group").map((h) => h.textContent?.replace(/\s+/g, " ").trim());
    expect(headings).toEqual(["Available 2", "Busy 1", "Offline 1"]);
    const available = screen.getByRole("list", { name: /Available/ });
    expect(Array.from(available.querySelectorAll("li .name")).map((n) => n.textContent)).toEqual(["Ada", "Cy"]);
  });

  it("moves teammates' local times on with the clock", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-11-23T10:00:30Z"));
    render(PresencePanel, { panel: { ...team, members: [member("Ada", "available", "Available", "available", "check")] } });
    const time = () => screen.getByTitle("Their local time").textContent;
    const before = time();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(time()).not.toBe(before);
    vi.useRealTimers();
  });

  it("searches by name and filters by status", async () => {
    render(PresencePanel, { panel: team });
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search teammates" }), { target: { value: "be" } });
    expect(screen.getAllByTestId("member").map((r) => r.textContent)).toHaveLength(1);
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search teammates" }), { target: { value: "" } });
    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by status" }), { target: { value: "offline" } });
    expect(screen.getAllByTestId("member").map((r) => r.dataset.status)).toEqual(["offline"]);
  });

  it("says when the list is stale", () => {
    render(PresencePanel, { panel: { ...team, stale_since: 1_800_000_000_000 } });
    expect(screen.getByRole("status").textContent).toContain("Offline");
  });
});

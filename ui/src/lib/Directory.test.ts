import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import Directory from "./Directory.svelte";
import type { Directory as Found, Family } from "./types";

const view = (status: string, label: string, family: Family) => ({
  status: { status, label, family, colour: "green" as const, glyph: "check" as const, emoji: null, since: 0, until: null },
  message: null,
  last_seen: null,
  reachable_on: null,
});

const found: Found = {
  people: [
    { member: { user: "u1", name: "Dan", time_zone: "UTC", avatar: null, view: view("available", "Available", "available") }, email: "dan@x.test", teams: [{ id: "t1", name: "Support" }] },
    { member: { user: "u2", name: "Eve", time_zone: "UTC", avatar: null, view: view("offline", "Offline", "offline") }, email: "eve@x.test", teams: [] },
  ],
  more: true,
};

describe("Directory", () => {
  it("searches the server with the words and the family, and lists who it found", async () => {
    const search = vi.fn(async (_q: string, _f: Family | null) => found);
    render(Directory, { search });
    await fireEvent.input(screen.getByTestId("directory-search"), { target: { value: " dan " } });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    const rows = await screen.findAllByTestId("person");
    expect(search).toHaveBeenLastCalledWith("dan", null);
    expect(rows.map((r) => r.dataset.status)).toEqual(["available", "offline"]);
    expect(rows[0].textContent).toContain("Support");
    expect(screen.getByText(/narrow the search/)).toBeTruthy();
    await fireEvent.change(screen.getByLabelText("Shown as"), { target: { value: "busy" } });
    expect(search).toHaveBeenLastCalledWith("dan", "busy");
  });

  it("pins and unpins people, and asks to be told when someone not available is", async () => {
    const search = vi.fn(async () => found);
    const onpin = vi.fn(async () => undefined);
    const onwait = vi.fn(async () => undefined);
    const { rerender } = render(Directory, { search, favourites: [], waiting: [], onpin, onwait, me: "u1" });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    await screen.findAllByTestId("person");
    await fireEvent.click(screen.getByRole("button", { name: "Pin Eve to your panel" }));
    expect(onpin).toHaveBeenCalledWith("u2", true);
    // Dan is the person themselves: nothing to pin or wait for. Eve is not available.
    expect(screen.queryByRole("button", { name: "Pin Dan to your panel" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Notify me when Dan is available" })).toBeNull();
    expect(screen.getAllByTestId("person")[0].textContent).toContain("(you)");
    await fireEvent.click(screen.getByRole("button", { name: "Notify me when Eve is available" }));
    expect(onwait).toHaveBeenCalledWith("u2", true);
    await rerender({ search, favourites: ["u2"], waiting: ["u2"], onpin, onwait, me: "u1" });
    await fireEvent.click(screen.getByRole("button", { name: "Unpin Eve" }));
    expect(onpin).toHaveBeenCalledWith("u2", false);
    await fireEvent.click(screen.getByRole("button", { name: "Stop waiting for Eve" }));
    expect(onwait).toHaveBeenCalledWith("u2", false);
  });

  it("tells the app who is on screen, and shows each one's newest view", async () => {
    const search = vi.fn(async () => found);
    const onshow = vi.fn();
    const { rerender, unmount } = render(Directory, { search, me: "u1", onshow });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    await screen.findAllByTestId("person");
    // The person themselves is not watched: the app knows them already.
    expect(onshow).toHaveBeenLastCalledWith(["u2"]);
    // Eve came online and is busy: the row changes without a new search.
    const eve = { ...found.people[1].member, view: view("busy", "Busy", "busy") };
    await rerender({ search, me: "u1", onshow, live: [eve] });
    const rows = screen.getAllByTestId("person");
    expect(rows.map((r) => r.dataset.status)).toEqual(["available", "busy"]);
    expect(search).toHaveBeenCalledTimes(1);
    // Gone from the screen: nobody is watched any more.
    unmount();
    expect(onshow).toHaveBeenLastCalledWith([]);
  });

  it("shows the server's error in place", async () => {
    const search = vi.fn(async () => {
      throw { kind: "offline", message: "the directory is on the server: sign in" };
    });
    render(Directory, { search });
    await fireEvent.click(screen.getByRole("button", { name: "Search" }));
    expect((await screen.findByRole("alert")).textContent).toContain("sign in");
  });
});

import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import CalendarPanel from "./CalendarPanel.svelte";
import type { CalendarSource, CalendarState } from "./types";

const following = (over: Partial<CalendarState> = {}): CalendarState => ({
  kind: "ics",
  shown: "https://calendar.google.com/…",
  since: Date.UTC(2027, 0, 15, 9, 0),
  last_read: Date.UTC(2027, 0, 15, 9, 5),
  failing_since: null,
  last_error: null,
  ...over,
});

describe("CalendarPanel", () => {
  it("follows a calendar by its address and then shows only its host", async () => {
    const load = vi.fn(async () => null);
    const save = vi.fn(async (_source: CalendarSource) => following());
    render(CalendarPanel, { load, save, remove: vi.fn() });
    await fireEvent.input(screen.getByLabelText("The calendar's ICS address"), { target: { value: " webcal://example.com/secret.ics " } });
    await fireEvent.click(screen.getByRole("button", { name: "Follow" }));
    expect(save).toHaveBeenCalledWith({ kind: "ics", url: "webcal://example.com/secret.ics" });
    const state = await screen.findByTestId("calendar-state");
    expect(state.textContent).toContain("https://calendar.google.com/…");
    expect(document.body.textContent).not.toContain("secret.ics");
  });

  it("says since when a calendar cannot be read, and why", async () => {
    const load = vi.fn(async () => following({ failing_since: Date.UTC(2027, 0, 15, 10, 0), last_error: "the calendar's address answered 404 Not Found" }));
    render(CalendarPanel, { load, save: vi.fn(), remove: vi.fn() });
    const state = await screen.findByTestId("calendar-state");
    expect(state.textContent).toMatch(/Unreachable since .*404/);
  });

  it("stops following, and shows the server's refusal in place", async () => {
    const remove = vi.fn(async () => undefined);
    const save = vi.fn(async () => {
      throw { kind: "invalid", message: "a calendar's address must start with https://" };
    });
    render(CalendarPanel, { load: async () => following(), save, remove });
    await fireEvent.click(await screen.findByRole("button", { name: "Stop following" }));
    expect(remove).toHaveBeenCalled();
    expect(await screen.findByLabelText("The calendar's ICS address")).toBeTruthy();
    await fireEvent.input(screen.getByLabelText("The calendar's ICS address"), { target: { value: "ftp://x" } });
    await fireEvent.click(screen.getByRole("button", { name: "Follow" }));
    expect((await screen.findByRole("alert")).textContent).toContain("https://");
  });

  it("follows a CalDAV account with its user name and password, and forgets the password", async () => {
    const save = vi.fn(async (_source: CalendarSource) => following({ kind: "caldav", shown: "bea at https://dav.example.com/…" }));
    render(CalendarPanel, { load: async () => null, save, remove: vi.fn() });
    await fireEvent.click(await screen.findByLabelText("CalDAV account"));
    const follow = screen.getByRole("button", { name: "Follow" }) as HTMLButtonElement;
    await fireEvent.input(screen.getByLabelText("The CalDAV address"), { target: { value: "https://dav.example.com/" } });
    await fireEvent.input(screen.getByLabelText("User name"), { target: { value: " bea " } });
    expect(follow.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("Password"), { target: { value: "app password" } });
    expect(follow.disabled).toBe(false);
    await fireEvent.click(follow);
    expect(save).toHaveBeenCalledWith({ kind: "caldav", url: "https://dav.example.com/", user: "bea", password: "app password" });
    expect((await screen.findByTestId("calendar-state")).textContent).toContain("bea at https://dav.example.com/");
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
  });
});

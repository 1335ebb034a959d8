import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import SettingsPanel from "./SettingsPanel.svelte";
import type { Member, Settings } from "./types";
import { savedTheme } from "./theme";

const settings: Settings = {
  server: "http://127.0.0.1:7878",
  account: "demo@presently.local",
  time_zone: "Europe/London",
  auto_away: true,
  idle_after_minutes: null,
  working_hours: [],
  quiet_hours: [],
  dnd_schedule: [],
  urgent_from: [],
  call: { busy_action: { action: "voicemail" }, out_of_hours: null, forward_to: null },
  out_of_office: null,
  statuses: [{ id: "site", name: "At a client site", emoji: "🏗️", family: "busy" }],
  limits: {
    auto_away: true,
    idle_after: 300_000,
    idle_after_min: 60_000,
    idle_after_max: 4 * 3_600_000,
    offline_after: null,
    forward_to_phone: true,
    teams: [{ id: "t-support", name: "Support" }],
  },
  unavailable: null,
  desktop_notifications: true,
  start_on_login: false,
  call_detection: true,
  call_apps: ["zoom", "teams"],
  auto_away_unavailable: null,
  desktop_dnd: "dnd",
  quiet_desktop: true,
  desktop_dnd_unavailable: null,
};

const members: Member[] = [
  { user: "u-cal", name: "Cal", time_zone: "Europe/London", avatar: null, view: null as unknown as Member["view"] },
  { user: "u-dee", name: "Dee", time_zone: "Europe/Paris", avatar: null, view: null as unknown as Member["view"] },
];

describe("SettingsPanel", () => {
  it("says when auto-away cannot work on this computer's session", () => {
    const why = "auto-away unavailable on this session: the Wayland compositor offers no idle protocol";
    render(SettingsPanel, { settings: { ...settings, auto_away_unavailable: why }, members, onsave: vi.fn(), onsignin: vi.fn() });
    expect(screen.getByTestId("auto-away-unavailable").textContent).toContain(why);
  });

  it("says nothing of it when auto-away works", () => {
    render(SettingsPanel, { settings, members, onsave: vi.fn(), onsignin: vi.fn() });
    expect(screen.queryByTestId("auto-away-unavailable")).toBeNull();
  });

  it("saves the person's hours, schedules, allow-list and call settings together", async () => {
    const onsave = vi.fn();
    render(SettingsPanel, { settings, members, onsave, onsignin: vi.fn() });
    await fireEvent.input(screen.getByLabelText("Away after minutes without input"), { target: { value: "10" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add working hours" }));
    await fireEvent.click(screen.getByRole("button", { name: "Add a Do not disturb window" }));
    await fireEvent.click(screen.getByRole("button", { name: "Add a Do not disturb window" }));
    // The second window: Friday afternoons only.
    for (const d of ["Mon", "Tue", "Wed", "Thu"]) await fireEvent.click(screen.getByLabelText(`Do not disturb 2: ${d}`));
    await fireEvent.change(screen.getByLabelText("Do not disturb 2: from"), { target: { value: "14:00" } });
    await fireEvent.change(screen.getByLabelText("Do not disturb 2: to"), { target: { value: "17:30" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add quiet hours" }));
    await fireEvent.click(screen.getByLabelText("Urgent from Dee"));
    await fireEvent.change(screen.getByLabelText("When I cannot take a call"), { target: { value: "redirect_user" } });
    await fireEvent.change(screen.getByLabelText("When I cannot take a call: teammate"), { target: { value: "u-cal" } });
    await fireEvent.change(screen.getByLabelText("Outside working hours"), { target: { value: "redirect_team" } });
    await fireEvent.change(screen.getByLabelText("Outside working hours: team"), { target: { value: "t-support" } });
    await fireEvent.input(screen.getByLabelText("Forward to phone number"), { target: { value: "+44 7700 900123" } });
    await fireEvent.click(screen.getByLabelText(/Show desktop notifications/));
    await fireEvent.click(screen.getByLabelText(/Start Presently when I log in/));
    await fireEvent.input(screen.getByLabelText("Calling applications"), { target: { value: "zoom, teams,, webex " } });
    await fireEvent.change(screen.getByLabelText("When my desktop's Do not disturb is on"), { target: { value: "pause" } });
    await fireEvent.click(screen.getByTestId("quiet-desktop"));
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).toHaveBeenCalledWith({
      ...settings,
      call_apps: ["zoom", "teams", "webex"],
      desktop_dnd: "pause",
      quiet_desktop: false,
      idle_after_minutes: 10,
      working_hours: [{ days: [0, 1, 2, 3, 4], start: 540, end: 1020 }],
      dnd_schedule: [
        { days: [0, 1, 2, 3, 4], start: 720, end: 780 },
        { days: [4], start: 840, end: 1050 },
      ],
      quiet_hours: [{ days: [0, 1, 2, 3, 4, 5, 6], start: 1320, end: 420 }],
      urgent_from: ["u-dee"],
      call: {
        busy_action: { action: "redirect_user", target: "u-cal" },
        out_of_hours: { action: "redirect_team", target: "t-support" },
        forward_to: "+44 7700 900123",
      },
      desktop_notifications: false,
      start_on_login: true,
    });
  });

  it("sets out of office with a return and a message, and shows the app's refusal beside it", async () => {
    // The rule is the engine's (Preferences::check): the app refuses, naming the setting.
    const onsave = vi.fn().mockRejectedValueOnce({ kind: "invalid", message: "Out of office: the return must be after the start", field: "out_of_office" });
    render(SettingsPanel, { settings, members, onsave, onsignin: vi.fn() });
    await fireEvent.click(screen.getByLabelText(/I am out of office/));
    await fireEvent.input(screen.getByLabelText("Out of office from"), { target: { value: "2099-03-02T09:00" } });
    await fireEvent.input(screen.getByLabelText("Out of office until"), { target: { value: "2099-03-01T09:00" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Out of office: the return must be after the start");
    expect(alert.closest("fieldset")?.querySelector("legend")?.textContent).toBe("Out of office");
    await fireEvent.input(screen.getByLabelText("Out of office until"), { target: { value: "2099-03-09T09:00" } });
    await fireEvent.input(screen.getByLabelText("Out-of-office message"), { target: { value: " Back on the 9th " } });
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).toHaveBeenCalledTimes(2);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(onsave.mock.calls[1][0].out_of_office).toEqual({
      from: new Date("2099-03-02T09:00").getTime(),
      until: new Date("2099-03-09T09:00").getTime(),
      message: "Back on the 9th",
    });
  });

  it("makes, changes and removes statuses of the person's own, with an id from the name", async () => {
    const onsave = vi.fn();
    render(SettingsPanel, { settings, members, onsave, onsignin: vi.fn() });
    expect((screen.getByLabelText("Status 1 name") as HTMLInputElement).value).toBe("At a client site");
    await fireEvent.click(screen.getByRole("button", { name: "Add a status of my own" }));
    await fireEvent.input(screen.getByLabelText("Status 2 name"), { target: { value: "  Deep work: writing " } });
    await fireEvent.input(screen.getByLabelText("Status 2 emoji"), { target: { value: "✍️" } });
    await fireEvent.change(screen.getByLabelText("Status 2 works as"), { target: { value: "do_not_disturb" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add a status of my own" }));
    await fireEvent.input(screen.getByLabelText("Status 3 name"), { target: { value: "At a client site!" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).toHaveBeenLastCalledWith(
      expect.objectContaining({
        statuses: [
          { id: "site", name: "At a client site", emoji: "🏗️", family: "busy" },
          { id: "deep-work-writing", name: "Deep work: writing", emoji: "✍️", family: "do_not_disturb" },
          { id: "at-a-client-site", name: "At a client site!", emoji: null, family: "busy" },
        ],
      }),
    );
    // Removing the first keeps the others' ids; the app's refusal of a name twice is shown in
    // the fieldset.
    await fireEvent.click(screen.getByRole("button", { name: "Remove At a client site" }));
    await fireEvent.input(screen.getByLabelText("Status 2 name"), { target: { value: "DEEP WORK: WRITING" } });
    onsave.mockClear();
    onsave.mockRejectedValueOnce({ kind: "invalid", message: 'your own statuses: the name "DEEP WORK: WRITING" is used twice', field: "statuses" });
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave.mock.calls[0][0].statuses.map((s: { id: string }) => s.id)).toEqual(["deep-work-writing", "deep-work-writing-2"]);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("is used twice");
    expect(alert.closest("fieldset")?.querySelector("legend")?.textContent).toBe("Your statuses");
  });

  it("turns auto-away off, and says so when the organisation has", async () => {
    const onsave = vi.fn();
    const { unmount } = render(SettingsPanel, { settings, members, onsave, onsignin: vi.fn() });
    await fireEvent.click(screen.getByLabelText(/Show me as Away when I am idle/));
    expect((screen.getByLabelText("Away after minutes without input") as HTMLInputElement).disabled).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave.mock.calls[0][0].auto_away).toBe(false);
    unmount();
    render(SettingsPanel, { settings: { ...settings, limits: { ...settings.limits!, auto_away: false } }, members, onsave, onsignin: vi.fn() });
    expect(screen.getByText(/Your organisation has turned auto-away off/)).toBeTruthy();
    expect(screen.queryByLabelText("Away after minutes without input")).toBeNull();
  });

  it("shows the app's refusals of a number and of a window without a day where they are", async () => {
    const onsave = vi.fn()
      .mockRejectedValueOnce({ kind: "invalid", message: '"07700 900123" is not a phone number: use the international form, such as +441234567890', field: "call" })
      .mockRejectedValueOnce({ kind: "invalid", message: "each window of the working hours needs at least one day", field: "schedule.working_hours" })
      .mockRejectedValueOnce({ kind: "offline", message: "cannot reach the server at http://127.0.0.1:7878", field: null });
    render(SettingsPanel, { settings, members, onsave, onsignin: vi.fn() });
    await fireEvent.change(screen.getByLabelText("When I cannot take a call"), { target: { value: "redirect_number" } });
    // Nothing to send yet: said by the form, beside the calls.
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).not.toHaveBeenCalled();
    expect(screen.getByRole("alert").textContent).toBe("When I cannot take a call: pick where the call goes");
    await fireEvent.input(screen.getByLabelText("When I cannot take a call: number"), { target: { value: "07700 900123" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave.mock.calls[0][0].call.busy_action).toEqual({ action: "redirect_number", target: "07700 900123" });
    let alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/international form/);
    expect(alert.closest("fieldset")?.querySelector("legend")?.textContent).toBe("Calls");
    await fireEvent.click(screen.getByRole("button", { name: "Add working hours" }));
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/at least one day/);
    expect(alert.closest("fieldset")?.querySelector("legend")?.textContent).toBe("Presence");
    // Not about one setting: said beside the Save button.
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/cannot reach the server/);
    expect(alert.closest("fieldset")).toBeNull();
  });

  it("without the server shows why, and this computer's settings only", async () => {
    const onsave = vi.fn();
    const offline = { ...settings, limits: null, unavailable: "cannot reach the server: your hours … are kept on the server" };
    render(SettingsPanel, { settings: offline, members, onsave, onsignin: vi.fn() });
    expect(screen.getByText(/cannot reach the server/)).toBeTruthy();
    expect(screen.queryByRole("group", { name: "Working hours" })).toBeNull();
    expect(screen.queryByLabelText("When I cannot take a call")).toBeNull();
    await fireEvent.click(screen.getByLabelText(/Start Presently when I log in/));
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).toHaveBeenCalledWith({ ...offline, start_on_login: true });
  });

  it("signs in only with an email and a password", async () => {
    const onsignin = vi.fn();
    render(SettingsPanel, { settings: { ...settings, account: null }, onsave: vi.fn(), onsignin });
    const button = screen.getByRole("button", { name: "Sign in and reconnect" }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("Email"), { target: { value: "a@example.com" } });
    await fireEvent.input(screen.getByLabelText("Password"), { target: { value: "secret" } });
    await fireEvent.click(button);
    expect(onsignin).toHaveBeenCalledWith("http://127.0.0.1:7878", "a@example.com", "secret");
  });

  it("switches the theme at once and remembers it; the desktop's choice is the default", async () => {
    localStorage.clear();
    document.documentElement.removeAttribute("data-theme");
    render(SettingsPanel, { settings, onsave: vi.fn(), onsignin: vi.fn() });
    const select = screen.getByLabelText("Theme") as HTMLSelectElement;
    expect(select.value).toBe("system");
    await fireEvent.change(select, { target: { value: "dark" } });
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(savedTheme()).toBe("dark");
    await fireEvent.change(select, { target: { value: "system" } });
    expect(document.documentElement.hasAttribute("data-theme")).toBe(false);
    expect(savedTheme()).toBe("system");
  });
});

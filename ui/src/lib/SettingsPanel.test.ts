import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import SettingsPanel from "./SettingsPanel.svelte";
import type { Settings } from "./types";
import { savedTheme } from "./theme";

const settings: Settings = {
  server: "http://127.0.0.1:7878",
  account: "demo@presently.local",
  time_zone: "Europe/London",
  idle_after_minutes: null,
  quiet_from: null,
  quiet_to: null,
  desktop_notifications: true,
  start_on_login: false,
};

describe("SettingsPanel", () => {
  it("saves idle threshold, quiet hours, notifications and start on login together", async () => {
    const onsave = vi.fn();
    render(SettingsPanel, { settings, onsave, onsignin: vi.fn() });
    await fireEvent.input(screen.getByLabelText("Away after minutes without input"), { target: { value: "10" } });
    await fireEvent.click(screen.getByLabelText(/Quiet hours every day/));
    await fireEvent.click(screen.getByLabelText(/Show desktop notifications/));
    await fireEvent.click(screen.getByLabelText(/Start Presently when I log in/));
    await fireEvent.click(screen.getByRole("button", { name: "Save settings" }));
    expect(onsave).toHaveBeenCalledWith({
      ...settings,
      idle_after_minutes: 10,
      quiet_from: 22 * 60,
      quiet_to: 7 * 60,
      desktop_notifications: false,
      start_on_login: true,
    });
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

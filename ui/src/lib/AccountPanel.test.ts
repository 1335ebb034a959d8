import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import AccountPanel from "./AccountPanel.svelte";
import type { Devices } from "./types";

const devices: Devices = {
  devices: [
    { user: "u1", user_name: "Bea", device: "laptop", name: "Work laptop", platform: "linux", signed_in_at: 0, last_report_at: 0, activity: { state: "active" }, current: true },
    { user: "u1", user_name: "Bea", device: "phone", name: null, platform: "other", signed_in_at: 0, last_report_at: null, activity: null, current: false },
  ],
};

describe("AccountPanel", () => {
  it("lists the person's devices and signs out another one, not this one", async () => {
    const signOut = vi.fn(async () => {});
    render(AccountPanel, { devices: async () => devices, signOut, changePassword: vi.fn() });
    const rows = await screen.findAllByTestId("device");
    expect(rows[0].textContent).toContain("Work laptop (Linux) — this computer");
    expect(rows[1].textContent).toMatch(/^phone/);
    expect(screen.queryByRole("button", { name: "Sign out Work laptop" })).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Sign out phone" }));
    expect(signOut).toHaveBeenCalledWith("phone");
  });

  it("changes the password and shows the server's refusal in place", async () => {
    const changePassword = vi
      .fn()
      .mockRejectedValueOnce({ kind: "offline", message: "the current password is wrong: nothing was changed" })
      .mockResolvedValueOnce(undefined);
    render(AccountPanel, { devices: async () => devices, signOut: vi.fn(), changePassword });
    await fireEvent.input(screen.getByLabelText("Current password"), { target: { value: "old one!" } });
    await fireEvent.input(screen.getByLabelText(/New password/), { target: { value: "a new long one" } });
    await fireEvent.click(screen.getByLabelText("Sign out my other devices"));
    await fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await screen.findByRole("alert")).textContent).toContain("nothing was changed");
    await fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect((await screen.findByRole("status")).textContent).toContain("other devices are signed out");
    expect(changePassword).toHaveBeenLastCalledWith("old one!", "a new long one", true);
  });
});

import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import SignIn from "./SignIn.svelte";

const noop = async () => {};

describe("SignIn", () => {
  it("signs in with an email and password and shows a refusal in words, in place", async () => {
    const signIn = vi
      .fn()
      .mockRejectedValueOnce({ kind: "offline", message: "cannot connect securely to https://p.example: the certificate has expired" })
      .mockResolvedValueOnce(undefined);
    render(SignIn, { version: "0.1.0", signIn, redeem: vi.fn(), local: noop });
    await fireEvent.input(screen.getByLabelText("Server address"), { target: { value: "https://p.example" } });
    await fireEvent.input(screen.getByLabelText("Email"), { target: { value: "ada@p.example" } });
    await fireEvent.input(screen.getByLabelText("Password"), { target: { value: "secret pass" } });
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("certificate has expired");
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(signIn).toHaveBeenLastCalledWith("https://p.example", "ada@p.example", "secret pass", null);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("signs in through single sign-on with the server and a work email, showing the provider's refusal", async () => {
    const sso = vi
      .fn()
      .mockRejectedValueOnce({ kind: "invalid", message: "single sign-on: your identity provider has not verified ada@p.example" })
      .mockResolvedValueOnce(undefined);
    render(SignIn, { version: "0.1.0", signIn: vi.fn(), redeem: vi.fn(), sso, local: noop });
    await fireEvent.click(screen.getByRole("tab", { name: "Single sign-on" }));
    await fireEvent.input(screen.getByLabelText("Server address"), { target: { value: "https://p.example" } });
    await fireEvent.input(screen.getByLabelText("Work email"), { target: { value: "ada@p.example" } });
    await fireEvent.click(screen.getByRole("button", { name: "Continue in the browser" }));
    expect((await screen.findByRole("alert")).textContent).toContain("has not verified ada@p.example");
    await fireEvent.click(screen.getByRole("button", { name: "Continue in the browser" }));
    expect(sso).toHaveBeenLastCalledWith("https://p.example", "ada@p.example", null);
    expect(screen.queryByLabelText("Password")).toBeNull();
  });

  it("signs in with an invite code, a name and a new password", async () => {
    const redeem = vi.fn(async () => {});
    render(SignIn, { version: "0.1.0", signIn: vi.fn(), redeem, local: noop });
    await fireEvent.click(screen.getByRole("tab", { name: "Invite code" }));
    await fireEvent.input(screen.getByLabelText("Server address"), { target: { value: "https://p.example" } });
    await fireEvent.input(screen.getByLabelText("Invite code"), { target: { value: "pc_abc" } });
    await fireEvent.input(screen.getByLabelText("New password"), { target: { value: "long enough" } });
    await fireEvent.input(screen.getByLabelText("This computer's name"), { target: { value: " Work laptop " } });
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(redeem).toHaveBeenCalledWith("https://p.example", "pc_abc", "long enough", null, "Work laptop");
  });

  it("offers to use the app without a server", async () => {
    const local = vi.fn(async () => {});
    render(SignIn, { version: "0.1.0", signIn: vi.fn(), redeem: vi.fn(), local });
    await fireEvent.click(screen.getByRole("button", { name: "Use without a server" }));
    expect(local).toHaveBeenCalled();
    expect(screen.getByText("Presently 0.1.0")).toBeTruthy();
  });
});

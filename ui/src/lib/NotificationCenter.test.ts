import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import NotificationCenter from "./NotificationCenter.svelte";
import type { CenterItem } from "./types";

function item(seq: number, title: string, held: boolean, read = false): CenterItem {
  return {
    notification: {
      seq, title, body: `about ${title}`, sender: null, urgent: false, created_at: 1_800_000_000_000,
      delivery: held ? { delivery: "hold", why: { reason: "status", status: "do_not_disturb" } } : { delivery: "show" },
      read, dismissed: false,
    },
    missed: held && !read,
  };
}

describe("NotificationCenter", () => {
  it("marks held ones as missed with the reason, counts unread, and acts", async () => {
    const onread = vi.fn();
    const ondismiss = vi.fn();
    const onreadall = vi.fn();
    render(NotificationCenter, {
      items: [item(3, "Held", true), item(2, "Shown", false), item(1, "Old", false, true)],
      onread, ondismiss, onreadall,
    });
    const rows = screen.getAllByTestId("notification");
    expect(rows[0].textContent).toContain("Missed");
    expect(rows[0].textContent).toContain("held: Do not disturb");
    expect(screen.getByLabelText("2 unread")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Mark “Held” read" }));
    expect(onread).toHaveBeenCalledWith(3);
    await fireEvent.click(screen.getByRole("button", { name: "Dismiss “Old”" }));
    expect(ondismiss).toHaveBeenCalledWith(1);
    await fireEvent.click(screen.getByRole("button", { name: "Mark all read" }));
    expect(onreadall).toHaveBeenCalled();
  });

  it("says what the center is for when empty", () => {
    render(NotificationCenter, { items: [], onread: vi.fn(), ondismiss: vi.fn(), onreadall: vi.fn() });
    expect(screen.getByText(/held during Do not disturb wait here/)).toBeTruthy();
  });
});

import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import NotificationCenter from "./NotificationCenter.svelte";
import type { CenterItem } from "./types";

function item(seq: number, title: string, held: boolean, read = false, link: string | null = null): CenterItem {
  return {
    notification: {
      seq, title, body: `about ${title}`, sender: null, urgent: false, created_at: 1_800_000_000_000,
      delivery: held ? { delivery: "hold", why: { reason: "status", status: "do_not_disturb" } } : { delivery: "show" },
      read, dismissed: false, link,
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
      onread, ondismiss, onreadall, onopen: vi.fn(),
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
    render(NotificationCenter, { items: [], onread: vi.fn(), ondismiss: vi.fn(), onreadall: vi.fn(), onopen: vi.fn() });
    expect(screen.getByText(/held during Do not disturb wait here/)).toBeTruthy();
  });
});

describe("opening a notification", () => {
  it("hands a linked one to the app, and shows one without a link whole", async () => {
    const onopen = vi.fn(async (seq: number) => (seq === 2 ? "https://chat.example.com/m/2" : null));
    render(NotificationCenter, {
      items: [item(2, "Linked", false, false, "https://chat.example.com/m/2"), item(1, "Plain", false)],
      onread: vi.fn(), ondismiss: vi.fn(), onreadall: vi.fn(), onopen,
    });
    const rows = screen.getAllByTestId("notification");
    expect(rows[0].textContent).toContain("chat.example.com");
    await fireEvent.click(screen.getByRole("button", { name: "Open “Linked” in the browser" }));
    expect(onopen).toHaveBeenCalledWith(2);
    expect(rows[0].querySelector(".body.whole")).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Open “Plain”" }));
    expect(onopen).toHaveBeenCalledWith(1);
    await vi.waitFor(() => expect(rows[1].querySelector(".body.whole")).not.toBeNull());
  });

  it("brings the notification a desktop click points to into view", () => {
    // jsdom lays nothing out, so it has no scrollIntoView: record the call instead.
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) { scrolled.push(this); };
    render(NotificationCenter, {
      items: [item(2, "Other", false), item(1, "Clicked", false)],
      onread: vi.fn(), ondismiss: vi.fn(), onreadall: vi.fn(), onopen: vi.fn(), focus: 1,
    });
    const rows = screen.getAllByTestId("notification");
    expect(rows[1].classList.contains("focused")).toBe(true);
    expect(rows[1].querySelector(".body.whole")).not.toBeNull();
    expect(rows[0].classList.contains("focused")).toBe(false);
    expect(scrolled).toEqual([rows[1]]);
  });
});

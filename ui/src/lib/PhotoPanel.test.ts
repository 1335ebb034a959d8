import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import PhotoPanel from "./PhotoPanel.svelte";
import type { Member } from "./types";

const me = (avatar: string | null): Member => ({
  user: "u-me",
  name: "Ada Lovelace",
  time_zone: "UTC",
  avatar,
  view: {
    status: { status: "available", label: "Available", family: "available", colour: "green", glyph: "check", emoji: null, since: 0, until: null },
    message: null,
    last_seen: null,
    reachable_on: null,
  },
});

function choose(input: HTMLInputElement, file: File) {
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  return fireEvent.change(input);
}

describe("PhotoPanel", () => {
  it("sends the chosen file's bytes, and offers removing a photo there is", async () => {
    const setPhoto = vi.fn(async (_b: Uint8Array) => undefined);
    const removePhoto = vi.fn(async () => undefined);
    const { rerender } = render(PhotoPanel, { myself: me(null), setPhoto, removePhoto });
    expect(screen.queryByRole("button", { name: "Remove photo" })).toBeNull();
    await choose(screen.getByTestId("photo-file") as HTMLInputElement, new File([new Uint8Array([1, 2, 3])], "me.png", { type: "image/png" }));
    await waitFor(() => expect(setPhoto).toHaveBeenCalled());
    expect(Array.from(setPhoto.mock.calls[0][0])).toEqual([1, 2, 3]);
    await rerender({ myself: me("3"), setPhoto, removePhoto });
    await fireEvent.click(screen.getByRole("button", { name: "Remove photo" }));
    expect(removePhoto).toHaveBeenCalled();
  });

  it("refuses a file over 5 MiB before sending it, and shows the server's refusal", async () => {
    const setPhoto = vi.fn(async () => {
      throw { kind: "invalid", message: "this is not a PNG, JPEG or WebP image" };
    });
    render(PhotoPanel, { myself: me(null), setPhoto, removePhoto: vi.fn() });
    const input = screen.getByTestId("photo-file") as HTMLInputElement;
    await choose(input, new File([new Uint8Array(5 * 1024 * 1024 + 1)], "big.png", { type: "image/png" }));
    expect((await screen.findByRole("alert")).textContent).toContain("at most 5 MiB");
    expect(setPhoto).not.toHaveBeenCalled();
    await choose(input, new File([new Uint8Array([0])], "notes.png", { type: "image/png" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("not a PNG"));
  });
});

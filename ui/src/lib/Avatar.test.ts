import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import Avatar from "./Avatar.svelte";
import { INITIALS_COLOURS, colourFor, contrast, initials, setFaceLoader, storedSize } from "./faces";
import type { Family } from "./types";

afterEach(() => setFaceLoader(async () => null));

describe("initials", () => {
  it("takes the first letters of the first and last words", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("Ana María Ruiz")).toBe("AR");
    expect(initials("ben")).toBe("B");
    expect(initials("bea@one.test")).toBe("B");
    expect(initials("jean-luc.picard@example.org")).toBe("JP");
    expect(initials("Ümit Öz")).toBe("ÜÖ");
    expect(initials("You (demo)")).toBe("YD");
    expect(initials("Ада Лавлейс")).toBe("АЛ");
    expect(initials("   ")).toBe("?");
  });

  it("draws white initials on colours that meet WCAG AA, the same for the same id", () => {
    for (const c of INITIALS_COLOURS) expect(contrast(c, "#ffffff"), c).toBeGreaterThanOrEqual(4.5);
    expect(colourFor("u-123")).toBe(colourFor("u-123"));
    // Ids spread over the palette rather than all landing on one colour.
    const used = new Set(Array.from({ length: 60 }, (_, i) => colourFor(`u-${i}`)));
    expect(used.size).toBeGreaterThan(5);
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
  });

  it("asks for the stored size that draws sharply on this screen", () => {
    expect(storedSize(32, 1)).toBe(32);
    expect(storedSize(32, 2)).toBe(64);
    expect(storedSize(40, 1.5)).toBe(64);
    expect(storedSize(200, 2)).toBe(256);
  });
});

describe("Avatar", () => {
  it("shows initials without a photo, and the photo once loaded", async () => {
    const loader = vi.fn(async (user: string, version: string, size: number) => `data:image/jpeg;base64,${user}-${version}-${size}`);
    setFaceLoader(loader);
    const { rerender } = render(Avatar, { user: "u-1", name: "Ada Lovelace", avatar: null, size: 32 });
    expect(screen.getByTestId("avatar-initials").textContent).toBe("AL");
    expect(loader).not.toHaveBeenCalled();
    await rerender({ user: "u-1", name: "Ada Lovelace", avatar: "0123456789abcdef", size: 32 });
    await waitFor(() => expect(screen.getByTestId("avatar-photo")).toBeTruthy());
    expect(screen.getByTestId("avatar-photo").getAttribute("src")).toBe("data:image/jpeg;base64,u-1-0123456789abcdef-32");
    // The photo removed: initials again.
    await rerender({ user: "u-1", name: "Ada Lovelace", avatar: null, size: 32 });
    expect(screen.getByTestId("avatar-initials")).toBeTruthy();
  });

  it("keeps initials when the photo cannot be had", async () => {
    setFaceLoader(async () => { throw new Error("offline"); });
    render(Avatar, { user: "u-2", name: "Ben", avatar: "fedcba9876543210", size: 32 });
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.getByTestId("avatar-initials").textContent).toBe("B");
  });

  it("badges each status family with its own shape", () => {
    const families: Family[] = ["available", "busy", "away", "do_not_disturb", "offline"];
    const shapes = families.map((family) => {
      const { container, unmount } = render(Avatar, { user: "u-3", name: "Cy", family, size: 48 });
      const badge = container.querySelector('[data-testid="presence-badge"]')!;
      expect(badge.getAttribute("data-family")).toBe(family);
      const shape = badge.innerHTML.replace(/<!---->/g, "").replace(/ class="[^"]*"/g, "");
      unmount();
      return shape;
    });
    expect(new Set(shapes).size).toBe(families.length);
  });
});

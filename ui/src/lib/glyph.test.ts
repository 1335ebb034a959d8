import { describe, expect, it } from "vitest";
import { minutesUntil, minutesUntilTomorrow } from "./glyph";

describe("minutesUntil", () => {
  it("counts to a later time today, or the same time tomorrow", () => {
    const now = new Date(2027, 0, 15, 9, 0, 0);
    expect(minutesUntil("17:30", now)).toBe(8 * 60 + 30);
    expect(minutesUntil("08:00", now)).toBe(23 * 60);
    expect(minutesUntil("09:00", now)).toBe(24 * 60);
  });
});

describe("minutesUntilTomorrow", () => {
  it("counts to tomorrow's hour, not today's, even before it", () => {
    const early = new Date(2026, 10, 23, 6, 0);
    expect(minutesUntilTomorrow(8, early)).toBe(26 * 60);
    const late = new Date(2026, 10, 23, 22, 30);
    expect(minutesUntilTomorrow(8, late)).toBe(9 * 60 + 30);
  });
});

import { describe, expect, it } from "vitest";
import { minutesUntil } from "./glyph";

describe("minutesUntil", () => {
  it("counts to a later time today, or the same time tomorrow", () => {
    const now = new Date(2027, 0, 15, 9, 0, 0);
    expect(minutesUntil("17:30", now)).toBe(8 * 60 + 30);
    expect(minutesUntil("08:00", now)).toBe(23 * 60);
    expect(minutesUntil("09:00", now)).toBe(24 * 60);
  });
});

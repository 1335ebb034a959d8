import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/svelte";
import WhyPanel from "./WhyPanel.svelte";
import type { Explanation } from "./types";

function explanation(next: Explanation["next"]): Explanation {
  return {
    winner: {
      status: "do_not_disturb", label: "Do not disturb", source: "timed", because: "you chose it for a set time",
      priority: 60, device: null, since: 1_800_000_000_000, until: 1_800_003_600_000, standing: "winner",
    },
    others: [],
    when_this_ends: "available",
    next,
    seen_by_others: "do_not_disturb",
    devices: [],
  };
}

describe("WhyPanel", () => {
  it("lists each device as it counts now, in words", () => {
    const e = explanation(null);
    e.devices = [
      { device: "desktop-1a2b3c4d", name: "Work laptop", platform: "linux", state: "locked", since: 1_800_000_000_000, last_report_at: 1_800_000_060_000, in_call: false },
      { device: "phone", name: null, platform: "android", state: "active", since: 1_800_000_000_000, last_report_at: 1_800_000_000_000, in_call: true },
      { device: "desktop-9f8e7d6c", name: null, platform: "other", state: "gone", since: 1_800_000_000_000, last_report_at: 1_799_990_000_000, in_call: false },
    ];
    e.winner.device = "desktop-1a2b3c4d";
    render(WhyPanel, { explanation: e });
    const lines = screen.getAllByTestId("why-device").map((l) => l.textContent ?? "");
    expect(lines[0]).toMatch(/^Work laptop \(Linux\) — screen locked since .* · last report/);
    expect(lines[1]).toMatch(/^phone \(Android\) — active, on a call/);
    expect(lines[2]).toMatch(/^desktop-9f8e7d6c — not counted since/);
    expect(screen.getByTestId("why-winner").textContent).toContain("(device Work laptop (Linux))");
  });

  it("says what comes next when the status will change by itself", () => {
    render(WhyPanel, { explanation: explanation({ at: 1_800_003_600_000, status: "available", label: "Available" }) });
    expect(screen.getByText(/Next: Available at/)).toBeTruthy();
  });

  it("says nothing of a deadline underneath that leaves the status as it is", () => {
    render(WhyPanel, { explanation: explanation({ at: 1_800_000_600_000, status: "do_not_disturb", label: "Do not disturb" }) });
    expect(screen.queryByText(/Next:/)).toBeNull();
    expect(screen.getByTestId("why-winner").textContent).toContain("you chose it for a set time");
  });
});

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
  };
}

describe("WhyPanel", () => {
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

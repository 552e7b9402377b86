import { describe, expect, it } from "vitest";
import { StatusBook } from "./status-book.ts";

const IMAGE = "ghcr.io/acme/paperclip:managed";
const D = `sha256:${"d".repeat(64)}`;
const plan = { id: "2026-11-27T0612Z-dddddddd", image: IMAGE, digest: D };

describe("status book quarantine", () => {
  it("drops the records a lift cleared, and quarantines the digest again when it fails later", () => {
    const book = StatusBook.empty("host-a");
    book.quarantine(plan, "rolled back", new Date("2026-11-27T06:30:00Z"));
    const lift = { image: IMAGE, digest: D, by: "alice", at: "2026-11-27T07:00:00Z" };
    expect(book.dropLifted([{ ...lift, at: "2026-11-27T06:00:00Z" }])).toEqual([]);
    expect(book.isQuarantined(IMAGE, D)).toBe(true);
    expect(book.dropLifted([lift]).map((q) => q.digest)).toEqual([D]);
    expect(book.value.quarantine).toEqual([]);
    book.quarantine(plan, "failed again", new Date("2026-11-27T08:00:00Z"));
    expect(book.dropLifted([lift])).toEqual([]);
    expect(book.isQuarantined(IMAGE, D)).toBe(true);
  });
});

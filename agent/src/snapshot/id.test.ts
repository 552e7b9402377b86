import { describe, expect, it } from "vitest";
import { InvalidSnapshotIdError } from "./errors.ts";
import { assertValidSnapshotId, isValidSnapshotId, newSnapshotId, snapshotTimestamp } from "./id.ts";

describe("snapshot ids", () => {
  it("are <bot>--<volume>--<UTC time>-<hex>", () => {
    const at = new Date("2026-11-27T06:12:03.045Z");
    expect(snapshotTimestamp(at)).toBe("20261127T061203045Z");
    expect(newSnapshotId("acme-main", "acme-main-data", at, "beef")).toBe(
      "acme-main--acme-main-data--20261127T061203045Z-beef",
    );
    expect(newSnapshotId("acme-main", "data", at)).toMatch(
      /^acme-main--data--20261127T061203045Z-[0-9a-f]{4}$/,
    );
  });

  it("sort by time for one bot and volume", () => {
    const a = newSnapshotId("b", "v", new Date("2026-01-02T00:00:00.000Z"), "ffff");
    const b = newSnapshotId("b", "v", new Date("2026-01-02T00:00:00.001Z"), "0000");
    expect(a < b).toBe(true);
  });

  it("never carry path characters from odd bot or volume names", () => {
    const id = newSnapshotId("../../etc", "a/b..c\0", new Date(0), "0000");
    expect(id).toBe("etc--a_b.c_--19700101T000000000Z-0000");
    expect(isValidSnapshotId(id)).toBe(true);
  });

  it.each([
    "",
    ".",
    "..",
    "../x",
    "a/../../etc/passwd",
    "a/b",
    "/abs",
    "a..b",
    "a\0b",
    "a\\b",
    ".hidden",
    "-flag",
    "a b",
    "a\nb",
    "x".repeat(201),
  ])("rejects %j", (id) => {
    expect(isValidSnapshotId(id)).toBe(false);
    expect(() => assertValidSnapshotId(id)).toThrow(InvalidSnapshotIdError);
  });

  it("rejects what is not a string", () => {
    expect(isValidSnapshotId(undefined)).toBe(false);
    expect(isValidSnapshotId(42)).toBe(false);
  });

  it("names the id and the rule in the error", () => {
    expect(() => assertValidSnapshotId("../x")).toThrow(
      /invalid snapshot id "\.\.\/x".*never "\/" or "\.\."/,
    );
  });
});

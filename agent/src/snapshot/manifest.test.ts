import { describe, expect, it } from "vitest";
import { snapshotManifestSchema } from "./manifest.ts";

const valid = {
  version: 1,
  id: "acme-main--data--20261127T061203045Z-beef",
  volume: "data",
  bot: "acme-main",
  imageDigest: `sha256:${"ab".repeat(32)}`,
  createdAt: "2026-11-27T06:12:03.045Z",
  bytes: 10240,
  sha256: "0".repeat(64),
  entries: 3,
  method: "mountpoint",
};

describe("snapshot manifest", () => {
  it("accepts a direct-path manifest, and an archive one with its mount path and volume spec", () => {
    expect(snapshotManifestSchema.parse(valid)).toEqual(valid);
    const archive = {
      ...valid,
      method: "archive",
      mountPath: "/data",
      volumeSpec: { driver: "local", options: {}, labels: { a: "b" } },
    };
    expect(snapshotManifestSchema.parse(archive)).toEqual(archive);
    expect(snapshotManifestSchema.parse({ ...valid, imageDigest: null }).imageDigest).toBeNull();
  });

  it.each([
    ["a traversal id", { id: "../../etc/passwd" }],
    ["an uppercase sha256", { sha256: "A".repeat(64) }],
    ["a short sha256", { sha256: "abc" }],
    ["negative bytes", { bytes: -1 }],
    ["fractional entries", { entries: 1.5 }],
    ["an unknown method", { method: "rsync" }],
    ["a time without zone", { createdAt: "2026-11-27T06:12:03" }],
    ["another version", { version: 2 }],
    ["an unknown field", { extra: true }],
    ["an archive without mountPath", { method: "archive" }],
    ["an archive of /", { method: "archive", mountPath: "/" }],
    ["a relative mountPath", { method: "archive", mountPath: "data" }],
  ])("rejects %s", (_what, change) => {
    expect(snapshotManifestSchema.safeParse({ ...valid, ...change }).success).toBe(false);
  });
});

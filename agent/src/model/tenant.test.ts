import { describe, expect, it } from "vitest";
import { secretRefSchema, volumeSchema } from "./tenant.ts";

describe("paths in tenant files", () => {
  it("mount a volume at an absolute, normalised path other than /", () => {
    expect(volumeSchema.safeParse({ name: "data", path: "/data" }).success).toBe(true);
    for (const path of ["/", "data", "/data/../etc"]) {
      const result = volumeSchema.safeParse({ name: "data", path });
      expect(result.error?.issues[0]?.message, path).toBe(
        'mount path must be an absolute, normalised path other than "/", e.g. /data',
      );
    }
  });

  it("read a secret from an absolute, normalised file path", () => {
    expect(secretRefSchema.safeParse({ fromFile: "/etc/fleetwave/secrets/acme/KEY" }).success).toBe(true);
    for (const fromFile of ["secrets/KEY", "/etc/fleetwave/../KEY", "/etc/fleetwave/secrets/"]) {
      const result = secretRefSchema.safeParse({ fromFile });
      expect(result.error?.issues[0]?.message, fromFile).toBe(
        "fromFile must be an absolute, normalised file path, e.g. /etc/fleetwave/secrets/acme/API_KEY",
      );
    }
  });
});

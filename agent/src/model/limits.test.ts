import { describe, expect, it } from "vitest";
import { formatBytes, MAX_VALUE_BYTES, oversizedValues } from "./limits.ts";

describe("sizes in messages", () => {
  it("switch units at 1 KiB and 1 MiB", () => {
    expect([0, 1023, 1024, 1536, 1024 * 1024 - 1, 1024 * 1024, 52_428_800].map(formatBytes)).toEqual([
      "0 bytes",
      "1023 bytes",
      "1.0 KiB",
      "1.5 KiB",
      "1024.0 KiB",
      "1.0 MiB",
      "50.0 MiB",
    ]);
  });
});

describe("oversized values", () => {
  const big = "x".repeat(MAX_VALUE_BYTES + 1);

  it("finds every string over the limit in UTF-8 bytes, nested in maps and lists, with its path", () => {
    const atLimit = "é".repeat(MAX_VALUE_BYTES / 2);
    const over = "é".repeat(MAX_VALUE_BYTES / 2 + 1);
    expect(oversizedValues({ a: [1, { b: big }], c: atLimit, d: over, e: null, f: "short" })).toEqual([
      { path: ["a", 1, "b"], bytes: MAX_VALUE_BYTES + 1, isKey: false },
      { path: ["d"], bytes: MAX_VALUE_BYTES + 2, isKey: false },
    ]);
    expect(oversizedValues([big, "x", big])).toEqual([
      { path: [0], bytes: MAX_VALUE_BYTES + 1, isKey: false },
      { path: [2], bytes: MAX_VALUE_BYTES + 1, isKey: false },
    ]);
    expect(oversizedValues(big)).toEqual([{ path: [], bytes: MAX_VALUE_BYTES + 1, isKey: false }]);
  });

  it("reports an oversized key at the map that holds it, without walking its value", () => {
    expect(oversizedValues({ m: { [big]: { v: big } } })).toEqual([
      { path: ["m"], bytes: MAX_VALUE_BYTES + 1, isKey: true },
    ]);
    expect(oversizedValues({ m: { ["é".repeat(MAX_VALUE_BYTES / 2)]: 1 } })).toEqual([]);
  });
});

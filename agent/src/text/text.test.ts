import { describe, expect, it } from "vitest";
import { digestCell, shortDigest } from "./digest.ts";
import { escapeHtml } from "./html.ts";
import { formatTable } from "./table.ts";

const D = "sha256:3f2a9c1b7d2e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";

describe("text helpers", () => {
  it("shows a digest as sha256: and 12 hex in prose, 12 hex in a table", () => {
    expect(shortDigest(D)).toBe("sha256:3f2a9c1b7d2e");
    expect(digestCell(D)).toBe("3f2a9c1b7d2e");
    expect(digestCell(null)).toBe("—");
    expect(digestCell(undefined, "-")).toBe("-");
    expect(shortDigest("not a\ndigest at all, and long")).toBe("not a digest at all");
  });

  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("aligns columns and trims trailing spaces", () => {
    expect(
      formatTable(
        ["A", "BB"],
        [
          ["xyz", ""],
          ["1", "2"],
        ],
      ),
    ).toBe("A    BB\nxyz\n1    2");
  });
});

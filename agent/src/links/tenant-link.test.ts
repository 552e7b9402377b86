import { describe, expect, it } from "vitest";
import {
  checkLink,
  LINK_PATH,
  type LinkClaims,
  LinkKeyError,
  linkKey,
  linkUrl,
  signLink,
} from "./tenant-link.ts";

const KEY = "k".repeat(32);
const CLAIMS: LinkClaims = {
  tenant: "acme",
  bot: "acme-main",
  rollout: "2026-11-27T0612Z-b2b2b2b2",
  digest: `sha256:${"b2".repeat(32)}`,
  expires: 1_800_000_000,
};
const NOW = (CLAIMS.expires - 60) * 1000;

function fieldsOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

describe("tenant links", () => {
  it("signs every field into a link under the public URL that checks out until it expires", () => {
    const url = linkUrl("https://fleet.example/agent-a/", KEY, CLAIMS);
    expect(new URL(url).pathname).toBe(`/agent-a${LINK_PATH}`);
    const fields = fieldsOf(url);
    expect(fields.sig).toBe(signLink(KEY, CLAIMS));
    expect(checkLink(KEY, fields, NOW)).toEqual({ ok: true, claims: CLAIMS, signature: fields.sig });
    expect(checkLink(KEY, fields, CLAIMS.expires * 1000)).toMatchObject({ ok: false, problem: "expired" });
  });

  it("calls a link with any field changed altered, also one re-signed with another key", () => {
    const fields = fieldsOf(linkUrl("http://127.0.0.1:8787", KEY, CLAIMS));
    const changes: Record<string, string> = {
      tenant: "beta",
      bot: "beta-1",
      rollout: "2026-11-28T0612Z-c3c3c3c3",
      digest: `sha256:${"c3".repeat(32)}`,
      expires: String(CLAIMS.expires + 86_400),
      sig: signLink("x".repeat(32), CLAIMS),
    };
    for (const [name, value] of Object.entries(changes)) {
      expect(checkLink(KEY, { ...fields, [name]: value }, NOW), name).toEqual({
        ok: false,
        problem: "altered",
      });
    }
  });

  it("calls a link with a missing or unparsable field malformed", () => {
    const fields = fieldsOf(linkUrl("http://127.0.0.1:8787", KEY, CLAIMS));
    for (const [name, value] of [
      ["sig", undefined],
      ["sig", "zz"],
      ["tenant", "ACME"],
      ["digest", "latest"],
      ["expires", "soon"],
      ["bot", undefined],
    ] as const) {
      expect(checkLink(KEY, { ...fields, [name]: value }, NOW), name).toEqual({
        ok: false,
        problem: "malformed",
      });
    }
  });

  it("refuses a key too short to sign with, and treats an unset one as links off", () => {
    expect(() => linkKey("short")).toThrow(LinkKeyError);
    expect(() => linkKey("short")).toThrow(/FLEETWAVE_LINK_KEY must be at least 32 characters/);
    expect(linkKey(undefined)).toBeUndefined();
    expect(linkKey("")).toBeUndefined();
    expect(linkKey(KEY)).toBe(KEY);
  });
});

import { describe, expect, it } from "vitest";
import { chooseImages } from "./image-cleanup.ts";

const REPO = "ghcr.io/acme/bot";
const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const image = (n: number, ...extra: string[]) => ({
  id: `sha256:${String(n).repeat(64).slice(0, 64)}-id`,
  created: 1000 + n,
  refs: [`${REPO}@${d(n)}`, ...extra],
});

describe("chooseImages", () => {
  const images = [image(1), image(2), image(3), image(4), image(5), image(6, "ghcr.io/acme/other:1")];
  const choose = (inUse: string[], rollback: string[], keepOnHost: number) =>
    Object.fromEntries(
      chooseImages(images, REPO, {
        inUse: new Set(inUse),
        rollbackDigests: new Set(rollback),
        keepOnHost,
      }).map((c) => [c.created - 1000, c.remove ? "remove" : c.why]),
    );

  it("keeps the newest keepOnHost, what containers use, rollback targets and images other repositories name", () => {
    expect(choose([image(1).id], [d(2)], 2)).toEqual({
      6: "one of the newest 2",
      5: "one of the newest 2",
      4: "remove",
      3: "remove",
      2: "a kept snapshot rolls back to it",
      1: "a container uses it",
    });
    expect(choose([], [], 1)[5]).toBe("remove");
    expect(choose([], [], 0)[6]).toBe("also named ghcr.io/acme/other:1");
  });

  it("never touches another repository, nor one whose name only starts the same", () => {
    const foreign = [
      { id: "x", created: 1, refs: ["ghcr.io/acme/bot-evil:1", "ghcr.io/acme/botany@sha256:aa"] },
    ];
    expect(
      chooseImages(foreign, REPO, { inUse: new Set(), rollbackDigests: new Set(), keepOnHost: 1 }),
    ).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { findLeftovers, isWriting, leftoverId, markWriting } from "./leftovers.ts";

describe("findLeftovers", () => {
  it("finds partial tars, manifest temp files and tars without a manifest, and nothing else", () => {
    const names = [
      "b--v--20260101T000000000Z-0001.tar.partial",
      "b--v--20260101T000000000Z-0002.tar",
      "b--v--20260101T000000000Z-0002.json",
      "b--v--20260101T000000000Z-0003.tar",
      "b--v--20260101T000000000Z-0004.json.tmp",
      "b--v--20260101T000000000Z-0005.json",
      ".restore",
      "notes.txt",
    ];
    expect(findLeftovers(names)).toEqual([
      {
        name: "b--v--20260101T000000000Z-0001.tar.partial",
        id: "b--v--20260101T000000000Z-0001",
        kind: "partial",
      },
      {
        name: "b--v--20260101T000000000Z-0003.tar",
        id: "b--v--20260101T000000000Z-0003",
        kind: "orphan-tar",
      },
      {
        name: "b--v--20260101T000000000Z-0004.json.tmp",
        id: "b--v--20260101T000000000Z-0004",
        kind: "manifest-tmp",
      },
    ]);
    expect(findLeftovers([])).toEqual([]);
  });

  it("knows a pair's files: its level-1 belongs to the level-0's manifest, its listing is a leftover", () => {
    const pair = "b--v--20260101T000000000Z-0006";
    const lone = "b--v--20260101T000000000Z-0007";
    const names = [
      `${pair}.tar`,
      `${pair}.l1.tar`,
      `${pair}.json`,
      `${lone}.tar`,
      `${lone}.snar`,
      `${lone}.l1.tar.partial`,
    ];
    expect(findLeftovers(names)).toEqual([
      { name: `${lone}.l1.tar.partial`, id: lone, kind: "partial" },
      { name: `${lone}.snar`, id: lone, kind: "listing" },
      { name: `${lone}.tar`, id: lone, kind: "orphan-tar" },
    ]);
    expect(findLeftovers([`${lone}.l1.tar`])).toEqual([
      { name: `${lone}.l1.tar`, id: lone, kind: "orphan-tar" },
    ]);
  });

  it("tells the snapshot id of the files a writer holds open", () => {
    expect(leftoverId("a--b--t-00ff.l1.tar.partial")).toBe("a--b--t-00ff");
    expect(leftoverId("a--b--t-00ff.l1.tar")).toBe("a--b--t-00ff");
    expect(leftoverId("a--b--t-00ff.snar")).toBe("a--b--t-00ff");
    expect(leftoverId("a--b--t-00ff.tar.partial")).toBe("a--b--t-00ff");
    expect(leftoverId("a--b--t-00ff.tar")).toBe("a--b--t-00ff");
    expect(leftoverId("a--b--t-00ff.json")).toBeUndefined();
    expect(leftoverId("socket:[1234]")).toBeUndefined();
  });
});

describe("markWriting", () => {
  it("marks one snapshot of one dir until released", () => {
    const done = markWriting("/data/snapshots", "a--b--t-0001");
    expect(isWriting("/data/snapshots", "a--b--t-0001")).toBe(true);
    expect(isWriting("/other/snapshots", "a--b--t-0001")).toBe(false);
    expect(isWriting("/data/snapshots", "a--b--t-0002")).toBe(false);
    done();
    expect(isWriting("/data/snapshots", "a--b--t-0001")).toBe(false);
  });
});

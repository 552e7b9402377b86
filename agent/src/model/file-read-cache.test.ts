import { describe, expect, it } from "vitest";
import { fleetFiles } from "../plan/testing.ts";
import { buildFleetState, FileReadCache, type StateFile } from "./fleet-state.ts";

const files = (): StateFile[] =>
  fleetFiles({
    tenants: [
      { tenant: "acme", hour: 3, bots: [{ id: "acme-main", host: "host-a" }] },
      { tenant: "globex", hour: 4, bots: [{ id: "globex-main", host: "host-b" }] },
    ],
    statuses: [{ host: "host-a", bots: { "acme-main": `sha256:${"a".repeat(64)}` } }],
  });

const edit = (list: StateFile[], path: string, change: (text: string) => string): StateFile[] =>
  list.map((f) => (f.path === path ? { path, text: change(f.text) } : f));

function build(list: StateFile[], cache: FileReadCache) {
  const result = buildFleetState(list, "fleet-state/", cache);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.state;
}

describe("FileReadCache", () => {
  it("takes a file whose text is unchanged from the last build and reads a changed one again", () => {
    const cache = new FileReadCache();
    const first = build(files(), cache);
    const edited = edit(files(), "tenants/globex.yaml", (t) =>
      t.replace("preferredHourUtc: 4", "preferredHourUtc: 9"),
    );
    const second = build(edited, cache);
    const tenant = (state: typeof first, name: string) => state.tenants.find((t) => t.tenant === name);
    // The same object: neither parsed nor validated again.
    expect(tenant(second, "acme")).toBe(tenant(first, "acme"));
    expect(second.statuses[0]).toBe(first.statuses[0]);
    expect(tenant(second, "globex")).not.toBe(tenant(first, "globex"));
    expect(tenant(second, "globex")?.update.preferredHourUtc).toBe(9);
    expect(second).toEqual(build(edited, new FileReadCache()));
  });

  it("gives a bad file's file, line and field from the cache as when it was read, until it is fixed", () => {
    const cache = new FileReadCache();
    const bad = edit(files(), "tenants/acme.yaml", (t) => t.replace("mode: auto", "mode: sometimes"));
    const expected = [
      expect.objectContaining({ file: "fleet-state/tenants/acme.yaml", line: 3, field: "update.mode" }),
    ];
    for (let i = 0; i < 2; i += 1) {
      const result = buildFleetState(bad, "fleet-state/", cache);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems).toEqual(expected);
    }
    expect(buildFleetState(files(), "fleet-state/", cache).ok).toBe(true);
  });

  it("still runs the rules between files over files taken from the cache", () => {
    const cache = new FileReadCache();
    build(files(), cache);
    const duplicate = edit(files(), "tenants/globex.yaml", (t) =>
      t.replace("id: globex-main", "id: acme-main"),
    );
    const result = buildFleetState(duplicate, "fleet-state/", cache);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems).toContainEqual(
        expect.objectContaining({
          file: "fleet-state/tenants/globex.yaml",
          field: "bots[0].id",
          message: expect.stringContaining("already declared at fleet-state/tenants/acme.yaml:"),
        }),
      );
  });

  it("forgets the files a build no longer has", () => {
    const cache = new FileReadCache();
    build(files(), cache);
    expect(cache.size).toBe(files().length);
    build(
      files().filter((f) => !f.path.startsWith("status/")),
      cache,
    );
    expect(cache.size).toBe(files().length - 1);
  });
});

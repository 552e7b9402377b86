import { describe, expect, it } from "vitest";
import { isOwnCommit, parseCommitList } from "./replay.ts";

const owner = { email: "fleetwave-agent@host-a.invalid", host: "host-a" };

describe("own commits", () => {
  it("parses git log records with their Fleetwave-Host trailers", () => {
    const text =
      "aaa\x1ffleetwave-agent@host-a.invalid\x1ffleetwave(host-a): reconcile\x1fhost-a\x1e\n" +
      "bbb\x1fops@acme.example\x1foops: a secret\x1f\x1e\n";
    expect(parseCommitList(text)).toEqual([
      {
        sha: "aaa",
        authorEmail: "fleetwave-agent@host-a.invalid",
        subject: "fleetwave(host-a): reconcile",
        hosts: ["host-a"],
      },
      { sha: "bbb", authorEmail: "ops@acme.example", subject: "oops: a secret", hosts: [] },
    ]);
    expect(parseCommitList("")).toEqual([]);
  });

  it("needs both the agent's author email and its host trailer", () => {
    const commit = {
      sha: "a",
      subject: "s",
      authorEmail: "Fleetwave-Agent@host-a.invalid",
      hosts: ["host-a"],
    };
    expect(isOwnCommit(commit, owner)).toBe(true);
    expect(isOwnCommit({ ...commit, hosts: [] }, owner)).toBe(false);
    expect(isOwnCommit({ ...commit, hosts: ["host-b"] }, owner)).toBe(false);
    expect(isOwnCommit({ ...commit, authorEmail: "ops@acme.example" }, owner)).toBe(false);
  });
});

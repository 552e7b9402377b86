import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git } from "#fleetwave/git/git.ts";
import { commitStatusSnapshot, statusBranch } from "#fleetwave/git/status-refs.ts";
import { REMOTE_REFLOG_CONFIG, remoteMilestones, statusArrivals } from "../../bench/sim/remote-timeline.ts";

const ROLLOUT = "2026-12-07T1442Z-bbbbbbbb";
const status = (host: string, wavesDone: number, state: string) =>
  `host: ${host}\nrollouts:\n  ${ROLLOUT}:\n    state: ${state}\n    wavesDone: ${wavesDone}\n`;

/** A plausible unix time: git refuses dates it cannot tell from other numbers. */
const T = 1_796_640_000;
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

describe("the fleet-scale bench's timeline from the remote's reflog", () => {
  it("reads when each host's status arrived and what it said, so a lagging reader does not skew the result", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-timeline-"));
    roots.push(root);
    const bare = join(root, "fleet.git");
    await git(["init", "-q", "--bare", bare], { cwd: root });
    await git([...REMOTE_REFLOG_CONFIG], { cwd: bare });
    const push = async (host: string, text: string, at: number) => {
      const ref = `refs/heads/${statusBranch(host)}`;
      const parent = (
        await git(["rev-parse", "--verify", "--quiet", ref], { cwd: bare }).catch(() => undefined)
      )?.stdout.trim();
      const sha = await commitStatusSnapshot(
        { cwd: bare },
        {
          host,
          text,
          message: "status",
          author: { name: "agent", email: "agent@host.invalid" },
          ...(parent ? { parent } : {}),
        },
      );
      // The time the remote logs for the update, as receive-pack would at that moment.
      await git(["update-ref", ref, sha], {
        cwd: bare,
        env: { GIT_COMMITTER_DATE: `${at} +0000` },
      });
    };
    await push("host-a", status("host-a", 0, "in-progress"), T + 0);
    await push("host-b", status("host-b", 0, "in-progress"), T + 1);
    await push("host-a", status("host-a", 1, "in-progress"), T + 10);
    await push("host-b", status("host-b", 1, "in-progress"), T + 30);
    await push("host-a", status("host-a", 2, "completed"), T + 50);
    await push("host-b", status("host-b", 2, "completed"), T + 45);

    const arrivals = await statusArrivals(bare, ROLLOUT);
    expect(arrivals.get("host-b")).toEqual([
      { at: T + 1, wavesDone: 0, completed: false },
      { at: T + 30, wavesDone: 1, completed: false },
      { at: T + 45, wavesDone: 2, completed: true },
    ]);
    expect(remoteMilestones(arrivals, 3, T)).toEqual({
      waveEndsS: [30, 50, undefined],
      completionS: 50,
    });
  });
});

import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { git } from "./git.ts";
import {
  parseSignatureLog,
  type SignatureCheck,
  unverifiedReason,
  verifiedTip,
  walkVerified,
} from "./verify.ts";

const run = promisify(execFile);
const check = (sha: string, status: string, touchesFleetState = true): SignatureCheck => ({
  sha,
  status,
  signer: "",
  key: "",
  touchesFleetState,
});

describe("signature walk", () => {
  it("parses git log records with their changed files", () => {
    const text =
      "\x1eaaa\x1fG\x1fops\x1fSHA256:k\x1f\n\nfleet-state/fleet.yaml\n\x1ebbb\x1fN\x1f\x1f\x1f\n\nREADME.md\n";
    expect(parseSignatureLog(text)).toEqual([
      { sha: "aaa", status: "G", signer: "ops", key: "SHA256:k", touchesFleetState: true },
      { sha: "bbb", status: "N", signer: "", key: "", touchesFleetState: false },
    ]);
  });

  it("stops before the first unverified fleet-state commit; other commits need no signature", () => {
    expect(walkVerified("base", [check("a", "G"), check("b", "N", false), check("c", "G")])).toEqual({
      verified: "c",
    });
    const walked = walkVerified("base", [check("a", "G"), check("b", "U"), check("c", "G")]);
    expect(walked.verified).toBe("a");
    expect(walked.rejected?.commit).toBe("b");
    expect(walkVerified("base", [check("a", "B")]).verified).toBe("base");
  });

  it("says why a signature does not verify", () => {
    expect(unverifiedReason(check("a", "G"))).toBeUndefined();
    expect(unverifiedReason(check("a", "N"))).toContain("not signed");
    expect(unverifiedReason({ ...check("a", "U"), key: "SHA256:x" })).toContain("not trusted (key SHA256:x)");
    expect(unverifiedReason(check("a", "B"))).toContain("bad");
    expect(unverifiedReason(check("a", "R"))).toContain("revoked");
    expect(unverifiedReason(check("a", "E"))).toContain("cannot be checked");
  });
});

describe("verifiedTip on a real repository with ssh-keygen keys", { timeout: 30_000 }, () => {
  it("walks from the anchor, from the common history of a rewritten branch, and checks the newest commit with no anchor", async () => {
    const root = await mkdtemp(join(tmpdir(), "fleetwave-verify-"));
    for (const name of ["ops", "rogue"])
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(root, name)]);
    const allowed = join(root, "allowed_signers");
    const pub = (await run("cat", [join(root, "ops.pub")])).stdout.split(" ").slice(0, 2).join(" ");
    await writeFile(allowed, `ops ${pub}\n`);
    const cwd = join(root, "repo");
    await git(["init", "-q", "--initial-branch=main", cwd], { cwd: root });
    const o = { cwd };
    const commit = async (file: string, key?: string) => {
      await writeFile(join(cwd, file.replace("/", "-")), file);
      await git(["add", "-A"], o);
      const sign = key
        ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${join(root, key)}`, "-c", "commit.gpgsign=true"]
        : ["-c", "commit.gpgsign=false"];
      await git(["-c", "user.name=t", "-c", "user.email=t@x", ...sign, "commit", "-q", "-m", file], o);
      return (await git(["rev-parse", "HEAD"], o)).stdout.trim();
    };
    const move = async (name: string) => {
      const path = join(cwd, "fleet-state");
      await run("mkdir", ["-p", path]);
      await writeFile(join(path, name), name);
    };
    const trust = { allowedSignersFile: allowed };
    await move("a");
    const first = await commit("a", "ops");
    await writeFile(join(cwd, "README"), "docs");
    const docs = await commit("docs"); // unsigned, outside fleet-state: no signature needed
    expect(await verifiedTip(o, trust, undefined, docs)).toEqual({ ok: true, verified: docs });
    await move("b");
    const untrusted = await commit("b", "rogue");
    await move("c");
    const after = await commit("c", "ops");
    const result = await verifiedTip(o, trust, first, after);
    expect(result).toMatchObject({ ok: false, verified: docs, rejected: { commit: untrusted } });
    // With no anchor, the newest fleet-state commit decides alone.
    expect(await verifiedTip(o, trust, undefined, after)).toEqual({ ok: true, verified: after });
    // A rewritten branch without the untrusted commit walks from the common history.
    await git(["reset", "-q", "--hard", docs], o);
    await move("d");
    const rewritten = await commit("d", "ops");
    expect(await verifiedTip(o, trust, after, rewritten)).toEqual({ ok: true, verified: rewritten });
    await move("e");
    const unsigned = await commit("e");
    expect(await verifiedTip(o, trust, rewritten, unsigned)).toMatchObject({
      ok: false,
      verified: rewritten,
      rejected: { commit: unsigned, reason: "it is not signed" },
    });
  });
});

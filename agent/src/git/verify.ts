/**
 * Which fleet-state commits the agent may act on when commits must be signed.
 *
 * Every first-parent commit that touches `fleet-state/` (desired state and the hosts' status
 * files alike: both steer what an agent does) must carry a signature git verifies: an SSH
 * signature by a key of the allowed signers file (`gpg.ssh.allowedSignersFile`), or an OpenPGP
 * signature by a key the agent user's gpg trusts. A merge is judged by its own signature (the
 * merger vouches for what it brings in). Walking first-parent from the last verified commit, the
 * first commit that does not verify stops the walk: neither it nor anything after it is acted on,
 * even commits signed on top of it, until the branch is rewritten without it.
 */
import { type GitOptions, git } from "./git.ts";

export interface TrustOptions {
  /** The allowed signers file of SSH signatures (see ssh-keygen(1), ALLOWED SIGNERS). */
  allowedSignersFile: string;
}

/** One first-parent commit as its signature check saw it. */
export interface SignatureCheck {
  sha: string;
  /** git's `%G?`: G good, B bad, U good by an untrusted key, X/Y expired, R revoked, E cannot check, N none. */
  status: string;
  signer: string;
  key: string;
  /** The commit changes something under fleet-state/ (relative to its first parent). */
  touchesFleetState: boolean;
}

export type VerifyResult =
  /** `verified` is the newest commit that may be acted on (undefined: none yet). */
  | { ok: true; verified: string }
  | { ok: false; verified: string | undefined; rejected: { commit: string; reason: string } };

const FIELD = "\x1f";
const RECORD = "\x1e";
const FORMAT = `--format=${RECORD}%H${FIELD}%G?${FIELD}%GS${FIELD}%GK${FIELD}`;

/** Parses the output of `git log FORMAT --name-only`. */
export function parseSignatureLog(text: string): SignatureCheck[] {
  return text
    .split(RECORD)
    .filter((record) => record.trim().length > 0)
    .map((record) => {
      const [sha = "", status = "N", signer = "", key = "", names = ""] = record.split(FIELD);
      return {
        sha,
        status: status || "N",
        signer,
        key,
        touchesFleetState: names.split("\n").some((name) => name.startsWith("fleet-state/")),
      };
    });
}

/** Why a commit does not verify, or undefined when it does. */
export function unverifiedReason(check: SignatureCheck): string | undefined {
  const key = check.key ? ` (key ${check.key})` : "";
  switch (check.status) {
    case "G":
      return undefined;
    case "N":
      return "it is not signed";
    case "B":
      return `its signature is bad${key}: the commit was changed after signing`;
    case "U":
      return `it is signed by a key that is not trusted${key}: add the key to the allowed signers file if it should be`;
    case "X":
      return `its signature has expired${key}`;
    case "Y":
      return `it is signed by an expired key${key}`;
    case "R":
      return `it is signed by a revoked key${key}`;
    default:
      return `its signature cannot be checked${key} (for OpenPGP, is gpg installed and the key imported?)`;
  }
}

/** Walks `checks` (oldest first): the commit before the first unverified one that touches fleet-state. */
export function walkVerified(
  base: string | undefined,
  checks: readonly SignatureCheck[],
): { verified: string | undefined; rejected?: { commit: string; reason: string } } {
  let verified = base;
  for (const check of checks) {
    const reason = check.touchesFleetState ? unverifiedReason(check) : undefined;
    if (reason) return { verified, rejected: { commit: check.sha, reason } };
    verified = check.sha;
  }
  return { verified };
}

function trustArgs(trust: TrustOptions): string[] {
  return ["-c", `gpg.ssh.allowedSignersFile=${trust.allowedSignersFile}`];
}

async function signatureLog(
  options: GitOptions,
  trust: TrustOptions,
  revs: readonly string[],
): Promise<SignatureCheck[]> {
  const out = await git(
    [
      ...trustArgs(trust),
      "log",
      "--first-parent",
      "--reverse",
      "--diff-merges=first-parent",
      "--name-only",
      FORMAT,
      ...revs,
    ],
    options,
  );
  return parseSignatureLog(out.stdout);
}

async function tryRev(options: GitOptions, args: readonly string[]): Promise<string | undefined> {
  const out = await git(args, options).catch(() => undefined);
  return out?.stdout.trim() || undefined;
}

/**
 * The newest commit up to `tip` that may be acted on, walking first-parent from `anchor` (the last
 * verified commit). An anchor the branch no longer contains (a rewritten remote) walks from the
 * common history; with no anchor or no common history, the newest commit that touches
 * fleet-state must verify on its own.
 */
export async function verifiedTip(
  options: GitOptions,
  trust: TrustOptions,
  anchor: string | undefined,
  tip: string,
): Promise<VerifyResult> {
  if (anchor === tip) return { ok: true, verified: tip };
  const base = anchor ? await tryRev(options, ["merge-base", anchor, tip]) : undefined;
  let walked: ReturnType<typeof walkVerified>;
  if (base) {
    walked = walkVerified(base, await signatureLog(options, trust, [tip, `^${base}`]));
  } else {
    const newest = await tryRev(options, ["rev-list", "-1", "--first-parent", tip, "--", "fleet-state"]);
    const checks = newest ? await signatureLog(options, trust, ["-1", newest]) : [];
    const reason = checks[0] ? unverifiedReason({ ...checks[0], touchesFleetState: true }) : undefined;
    walked = reason ? { verified: undefined, rejected: { commit: newest!, reason } } : { verified: tip };
  }
  if (walked.rejected) return { ok: false, verified: walked.verified, rejected: walked.rejected };
  return { ok: true, verified: walked.verified ?? tip };
}

/** Why `commit` (a host's status ref tip) does not verify, or undefined when it does. */
export async function commitUnverified(
  options: GitOptions,
  trust: TrustOptions,
  commit: string,
): Promise<string | undefined> {
  const [check] = await signatureLog(options, trust, ["-1", commit]);
  return check ? unverifiedReason({ ...check, touchesFleetState: true }) : `commit ${commit} is missing`;
}

/** Git settings that make every commit in a clone SSH-signed with `keyFile` (a private key). */
export function signingConfig(keyFile: string): [string, string][] {
  return [
    ["gpg.format", "ssh"],
    ["user.signingkey", keyFile],
    ["commit.gpgsign", "true"],
  ];
}

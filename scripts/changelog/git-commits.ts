/** Git adapter for the changelog: reads a range's commits as RawCommit records. */
import type { Git } from "#fleetwave/git/git.ts";
import type { RawCommit } from "./model.ts";

const RS = "\x1e";
const US = "\x1f";

/**
 * Commits in `from..to` (everything reachable from `to` and not from `from`), newest first,
 * each with the files it touched. `from` may be null for "all history up to `to`".
 */
export async function readCommits(git: Git, from: string | null, to: string): Promise<RawCommit[]> {
  const range = from ? `${from}..${to}` : to;
  const out = await git.run([
    "log",
    "-z",
    "--no-renames",
    "--name-only",
    `--format=${RS}%H${US}%P${US}%an${US}%ae${US}%aI${US}%B${US}`,
    range,
    "--",
  ]);
  const commits: RawCommit[] = [];
  for (const record of out.split(RS)) {
    if (record.trim().length === 0) continue;
    const parts = record.split(US);
    if (parts.length < 7) continue;
    const [sha, parents, authorName, authorEmail, date, message] = parts as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const rest = parts.slice(6).join(US);
    const files = rest
      .replace(/^\0?\n?/, "")
      .split("\0")
      .filter((f) => f.length > 0);
    commits.push({
      sha,
      parents: parents.split(" ").filter((p) => p.length > 0),
      authorName,
      authorEmail,
      date,
      message,
      files,
    });
  }
  return commits;
}

/**
 * The version users see for an upstream commit: `git describe --tags` when upstream has tags
 * (`v1.4.0`, or `v1.4.0-3-gabc1234` three commits later), otherwise `<date>+<short sha>`.
 */
export async function describeVersion(git: Git, sha: string, date: string): Promise<string> {
  const described = await git.tryRun(["describe", "--tags", sha]);
  const text = described.stdout.trim();
  if (described.code === 0 && text.length > 0) return text;
  return `${date}+${sha.slice(0, 7)}`;
}

/**
 * The GitHub page of a remote URL (`https://github.com/o/r.git`, `git@github.com:o/r.git`,
 * `ssh://git@github.com/o/r`) or null when the remote is not on github.com.
 */
export function githubPage(url: string): string | null {
  const match =
    /^(?:https?:\/\/(?:[^@/]+@)?|ssh:\/\/git@|git@|git:\/\/)github\.com[:/]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/i.exec(
      url.trim(),
    );
  return match ? `https://github.com/${match[1]}/${match[2]}` : null;
}

/** The GitHub page of the `upstream` remote, or null (no such remote, or not on GitHub). */
export async function upstreamGitHubPage(git: Git): Promise<string | null> {
  const remote = await git.tryRun(["remote", "get-url", "upstream"]);
  return remote.code === 0 ? githubPage(remote.stdout) : null;
}

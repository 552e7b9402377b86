/** Git adapter for the changelog: reads a range's commits as RawCommit records. */
import type { Git } from "../../agent/src/git/git.ts";
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

/**
 * A stand-in for the few GitHub REST endpoints the sync and the rollout-plan action use, on
 * 127.0.0.1 only. Records every request so tests can assert method, path, query and body.
 * Octokit reaches it via `baseUrl`.
 *
 *   GET   /repos/:owner/:repo/pulls?[head=owner:branch][&state=open|closed|all][&base=main]
 *   POST  /repos/:owner/:repo/pulls
 *   PATCH /repos/:owner/:repo/pulls/:number              (title, body, state)
 *   GET   /repos/:owner/:repo/commits/:sha/pulls          (PRs whose merge commit is :sha)
 *   GET   /repos/:owner/:repo/issues/:number/comments
 *   POST  /repos/:owner/:repo/issues/:number/comments
 *   PATCH /repos/:owner/:repo/issues/comments/:id
 *
 * `failNext` makes the next request answer an error status once (the clients' retries).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
}

export interface FakePull {
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string;
  head: string;
  base: string;
  state: "open" | "closed";
  /** Set for a merged PR: its merge commit on the base branch. */
  mergeCommitSha?: string;
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
}

export interface FakeGitHub {
  /** e.g. http://127.0.0.1:41234 — pass as GITHUB_API_URL. */
  url: string;
  requests: RecordedRequest[];
  pulls: FakePull[];
  comments: FakeComment[];
  /** A PR merged as `sha` on `base`, as GitHub records it after the merge button. */
  addMergedPull: (pr: {
    owner: string;
    repo: string;
    title: string;
    head: string;
    base: string;
    sha: string;
  }) => FakePull;
  /** Answers the next request with `status` (after recording it), once. */
  failNext: (status: number) => void;
  close: () => Promise<void>;
}

function pullJson(url: string, pr: FakePull) {
  return {
    number: pr.number,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    html_url: `${url}/${pr.owner}/${pr.repo}/pull/${pr.number}`,
    merged_at: pr.mergeCommitSha ? "2026-11-27T06:00:00Z" : null,
    merge_commit_sha: pr.mergeCommitSha ?? null,
    head: { ref: pr.head, label: `${pr.owner}:${pr.head}`, repo: { full_name: `${pr.owner}/${pr.repo}` } },
    base: { ref: pr.base, label: `${pr.owner}:${pr.base}`, repo: { full_name: `${pr.owner}/${pr.repo}` } },
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, data: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(data));
}

function str(record: unknown, key: string): string | undefined {
  if (record && typeof record === "object" && key in record) {
    const value = (record as Record<string, unknown>)[key];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const pulls: FakePull[] = [];
  const comments: FakeComment[] = [];
  let failure: number | undefined;
  let url = "";
  const commentJson = (c: FakeComment) => ({
    id: c.id,
    body: c.body,
    html_url: `${url}/issues/${c.issue}#issuecomment-${c.id}`,
  });
  const server = createServer((req, res) => {
    void (async () => {
      const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
      const body = await readBody(req);
      const method = req.method ?? "GET";
      requests.push({
        method,
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        authorization: req.headers.authorization,
        body,
      });
      if (failure !== undefined) {
        const status = failure;
        failure = undefined;
        send(res, status, { message: `fake GitHub: failing this request with ${status} as asked` });
        return;
      }
      const list = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(parsed.pathname);
      const one = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(parsed.pathname);
      const ofCommit = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([0-9a-f]+)\/pulls$/.exec(parsed.pathname);
      const issueComments = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(parsed.pathname);
      const oneComment = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(parsed.pathname);
      if (ofCommit && method === "GET") {
        const [, owner, repo, sha] = ofCommit;
        const found = pulls.filter((p) => p.owner === owner && p.repo === repo && p.mergeCommitSha === sha);
        send(
          res,
          200,
          found.map((p) => pullJson(url, p)),
        );
        return;
      }
      if (issueComments && method === "GET") {
        const issue = Number(issueComments[1]);
        send(res, 200, comments.filter((c) => c.issue === issue).map(commentJson));
        return;
      }
      if (issueComments && method === "POST") {
        const text = str(body, "body");
        if (!text) {
          send(res, 422, { message: "Validation Failed: body is required" });
          return;
        }
        const comment = { id: 1000 + comments.length, issue: Number(issueComments[1]), body: text };
        comments.push(comment);
        send(res, 201, commentJson(comment));
        return;
      }
      if (oneComment && method === "PATCH") {
        const comment = comments.find((c) => c.id === Number(oneComment[1]));
        const text = str(body, "body");
        if (!comment || !text) {
          send(res, comment ? 422 : 404, { message: comment ? "Validation Failed" : "Not Found" });
          return;
        }
        comment.body = text;
        send(res, 200, commentJson(comment));
        return;
      }
      if (list && method === "GET") {
        const [, owner, repo] = list;
        const head = parsed.searchParams.get("head");
        const base = parsed.searchParams.get("base");
        const state = parsed.searchParams.get("state") ?? "open";
        const found = pulls.filter(
          (p) =>
            p.owner === owner &&
            p.repo === repo &&
            (state === "all" || p.state === state) &&
            (head === null || `${p.owner}:${p.head}` === head) &&
            (base === null || p.base === base),
        );
        send(
          res,
          200,
          found.map((p) => pullJson(url, p)),
        );
        return;
      }
      if (list && method === "POST") {
        const [, owner, repo] = list as unknown as [string, string, string];
        const title = str(body, "title");
        const head = str(body, "head");
        const base = str(body, "base");
        if (!title || !head || !base) {
          send(res, 422, { message: "Validation Failed: title, head and base are required" });
          return;
        }
        if (
          pulls.some((p) => p.owner === owner && p.repo === repo && p.head === head && p.state === "open")
        ) {
          send(res, 422, { message: `A pull request already exists for ${owner}:${head}.` });
          return;
        }
        const pr: FakePull = {
          number: pulls.length + 1,
          owner,
          repo,
          title,
          body: str(body, "body") ?? "",
          head,
          base,
          state: "open",
        };
        pulls.push(pr);
        send(res, 201, pullJson(url, pr));
        return;
      }
      if (one && method === "PATCH") {
        const [, owner, repo, number] = one;
        const pr = pulls.find((p) => p.owner === owner && p.repo === repo && p.number === Number(number));
        if (!pr) {
          send(res, 404, { message: "Not Found" });
          return;
        }
        pr.title = str(body, "title") ?? pr.title;
        pr.body = str(body, "body") ?? pr.body;
        const state = str(body, "state");
        if (state === "open" || state === "closed") pr.state = state;
        send(res, 200, pullJson(url, pr));
        return;
      }
      send(res, 404, { message: `fake GitHub does not serve ${method} ${parsed.pathname}` });
    })().catch((error: unknown) => send(res, 500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    pulls,
    comments,
    addMergedPull: ({ sha, ...rest }) => {
      const pr: FakePull = {
        ...rest,
        number: pulls.length + 1,
        body: "",
        state: "closed",
        mergeCommitSha: sha,
      };
      pulls.push(pr);
      return pr;
    },
    failNext: (status) => {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

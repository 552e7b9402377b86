/**
 * The refs and HEAD of one clone, read with one `for-each-ref` (and one `rev-parse`) and answered
 * from memory for as long as no git command that may move a ref ran there. A tick asks for a few
 * refs a dozen times; each git process costs the agent ~10 ms of CPU, which at hundreds of agents
 * polling one remote is what an idle fleet spends its time on.
 */
import { type GitOptions, gitValue, refGeneration } from "./git.ts";
import { listRefs } from "./status-refs.ts";

export class RefCache {
  private refs?: { generation: number; map: Map<string, string> };
  private headAt?: { generation: number; sha: string };

  constructor(private readonly options: GitOptions) {}

  /**
   * `ref -> commit` for every ref that is one of `patterns` or lies below it, as
   * `git for-each-ref <patterns>` lists them.
   */
  async list(patterns: readonly string[]): Promise<Map<string, string>> {
    const all = await this.all();
    const matches = (ref: string) =>
      patterns.some((p) => ref === p || ref.startsWith(p.endsWith("/") ? p : `${p}/`));
    return new Map([...all].filter(([ref]) => matches(ref)));
  }

  /** The commit a ref points at, or undefined when the clone has no such ref. */
  async resolve(ref: string): Promise<string | undefined> {
    return (await this.all()).get(ref);
  }

  async head(): Promise<string> {
    const generation = refGeneration(this.options.cwd);
    if (this.headAt?.generation !== generation)
      this.headAt = { generation, sha: await gitValue(["rev-parse", "HEAD"], this.options) };
    return this.headAt.sha;
  }

  private async all(): Promise<Map<string, string>> {
    const generation = refGeneration(this.options.cwd);
    if (this.refs?.generation !== generation)
      this.refs = { generation, map: await listRefs(this.options, ["refs/"]) };
    return this.refs.map;
  }
}

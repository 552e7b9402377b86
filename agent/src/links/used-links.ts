/**
 * The record of tenant links already used, in `<data-dir>/used-links.json` (atomic, fsynced), so
 * a link stays single-use across restarts. Entries are kept until their link expires; an expired
 * link is refused on its expiry alone, so forgetting it then reopens nothing.
 */
import { z } from "zod";
import { readJsonIfExists, writeFileAtomic } from "../fs/durable.ts";

export const USED_LINKS_FILE = "used-links.json";

const fileSchema = z.strictObject({
  version: z.literal(1),
  used: z.array(
    z.strictObject({
      /** The link's signature: one per offer and expiry. */
      sig: z.string().regex(/^[0-9a-f]{64}$/),
      bot: z.string(),
      rollout: z.string(),
      /** Unix seconds: the link's own expiry. */
      expires: z.number().int(),
      at: z.string(),
    }),
  ),
});
export type UsedLink = z.output<typeof fileSchema>["used"][number];

/** What the HTTP app needs; the durable store below and tests' in-memory ones implement it. */
export interface UsedLinkStore {
  has(sig: string): boolean;
  /** Records a use; resolves once it is on disk. */
  add(entry: UsedLink): Promise<void>;
}

export class UsedLinks implements UsedLinkStore {
  private constructor(
    private readonly path: string,
    private entries: UsedLink[],
    private readonly nowMs: () => number,
  ) {}

  /** Reads the file (a missing one is empty); a corrupt one throws CorruptFileError naming it. */
  static async open(path: string, nowMs: () => number = Date.now): Promise<UsedLinks> {
    const file = await readJsonIfExists(path, fileSchema);
    return new UsedLinks(path, file?.used ?? [], nowMs);
  }

  has(sig: string): boolean {
    return this.entries.some((e) => e.sig === sig);
  }

  async add(entry: UsedLink): Promise<void> {
    const now = this.nowMs() / 1000;
    const kept = this.entries.filter((e) => e.expires > now && e.sig !== entry.sig);
    const next = [...kept, entry];
    await writeFileAtomic(this.path, `${JSON.stringify({ version: 1, used: next }, null, 2)}\n`);
    this.entries = next;
  }
}

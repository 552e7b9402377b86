/**
 * Old images of a bot's repository pile up on a host with every update. After a successful
 * update the agent removes the ones nothing needs: not used by any container (a stopped one or a
 * `.fleetwave-old` counts), not the image a kept snapshot would roll back to, and not among the
 * newest `images.keepOnHost`. `fleetwave images prune --dry-run` shows the same choice.
 */
import type { EnginePort, LocalImage } from "../docker/engine-port.ts";
import type { SnapshotStore } from "../snapshot/index.ts";

export interface ImageChoice {
  id: string;
  refs: string[];
  created: number;
  remove: boolean;
  /** Why it stays or goes, for the operator. */
  why: string;
}

export interface KeepRules {
  /** Image ids any container uses. */
  inUse: ReadonlySet<string>;
  /** Digests a kept snapshot records as the image its bot ran (the rollback target). */
  rollbackDigests: ReadonlySet<string>;
  keepOnHost: number;
}

const ofRepository = (repository: string) => (ref: string) =>
  ref.startsWith(`${repository}:`) || ref.startsWith(`${repository}@`);

/** Pure: which of the repository's local images go, newest first. */
export function chooseImages(
  images: readonly LocalImage[],
  repository: string,
  rules: KeepRules,
): ImageChoice[] {
  const mine = ofRepository(repository);
  const ranked = images
    .filter((i) => i.refs.some(mine))
    .sort((a, b) => b.created - a.created || a.id.localeCompare(b.id));
  return ranked.map((image, rank) => {
    const choice = (remove: boolean, why: string): ImageChoice => ({
      id: image.id,
      refs: image.refs.filter(mine),
      created: image.created,
      remove,
      why,
    });
    if (rules.inUse.has(image.id)) return choice(false, "a container uses it");
    const target = image.refs.find((r) => rules.rollbackDigests.has(r.slice(r.indexOf("@") + 1)));
    if (target) return choice(false, "a kept snapshot rolls back to it");
    if (rank < rules.keepOnHost) return choice(false, `one of the newest ${rules.keepOnHost}`);
    const other = image.refs.find((r) => !mine(r));
    if (other) return choice(false, `also named ${other}`);
    return choice(true, "unused");
  });
}

/** Lists, decides and (unless `dryRun`) removes; a failed removal is reported, never thrown. */
export async function pruneImages(
  docker: EnginePort,
  store: Pick<SnapshotStore, "list">,
  repository: string,
  keepOnHost: number,
  dryRun: boolean,
): Promise<{ choices: ImageChoice[]; failed: string[] }> {
  const [images, inUse, snapshots] = await Promise.all([
    docker.listImages(),
    docker.imagesInUse(),
    store.list(),
  ]);
  const rollbackDigests = new Set(snapshots.flatMap((s) => (s.imageDigest ? [s.imageDigest] : [])));
  const choices = chooseImages(images, repository, { inUse, rollbackDigests, keepOnHost });
  const failed: string[] = [];
  if (!dryRun) {
    for (const c of choices.filter((x) => x.remove)) {
      try {
        await docker.removeImage(c.id);
      } catch (error) {
        failed.push(`${c.refs[0] ?? c.id}: ${(error as Error).message}`);
      }
    }
  }
  return { choices, failed };
}

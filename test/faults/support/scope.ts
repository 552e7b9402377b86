/**
 * Clean-up of one test's bots on the shared engine: only containers and volumes whose name starts with
 * the test's prefix, never every managed container (other test files run against the same engine).
 */
import { dockerClient } from "#scripts/local-env/engine.ts";

export async function removeScope(prefix: string): Promise<void> {
  const docker = dockerClient();
  const containers = await docker.listContainers({ all: true });
  for (const c of containers) {
    if (!c.Names.some((n) => n.replace(/^\//, "").startsWith(prefix))) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
      });
  }
  const { Volumes } = await docker.listVolumes();
  for (const v of Volumes ?? []) {
    if (!v.Name.startsWith(prefix)) continue;
    await docker
      .getVolume(v.Name)
      .remove()
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
      });
  }
}

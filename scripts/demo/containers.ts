/** The demo's containers and volumes on the private engine: all named `demo-…`. */
import { PassThrough } from "node:stream";
import type Docker from "dockerode";

export const DEMO_PREFIX = "demo-";

const status = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * Removes every Fleetwave-managed container named `demo-…` (bots and `.fleetwave-old` leftovers
 * of an interrupted update), then every volume named `demo-…`. Returns what it removed.
 */
export async function removeDemoContainers(
  docker: Docker,
): Promise<{ containers: string[]; volumes: string[] }> {
  const containers: string[] = [];
  const list = await docker.listContainers({ all: true, filters: { label: ["fleetwave.managed=true"] } });
  for (const info of list) {
    const name = (info.Names[0] ?? "").replace(/^\//, "");
    if (!name.startsWith(DEMO_PREFIX)) continue;
    try {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      containers.push(name);
    } catch (error) {
      if (status(error) !== 404) throw error;
    }
  }
  const volumes: string[] = [];
  const { Volumes } = await docker.listVolumes();
  for (const volume of Volumes ?? []) {
    if (!volume.Name.startsWith(DEMO_PREFIX)) continue;
    try {
      await docker.getVolume(volume.Name).remove();
      volumes.push(volume.Name);
    } catch (error) {
      if (status(error) !== 404) throw error;
    }
  }
  return { containers, volumes };
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside a running container (the bots are busybox, so `sh`, `ls`, `cat` exist). */
export async function execIn(docker: Docker, container: string, cmd: string[]): Promise<ExecResult> {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  err.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`exec ${cmd.join(" ")} in ${container} timed out`)),
      30_000,
    );
    stream.once("end", () => {
      clearTimeout(timer);
      done();
    });
    stream.once("error", (error: Error) => {
      clearTimeout(timer);
      fail(error);
    });
  });
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return { code: info.ExitCode, stdout, stderr };
    if (i >= 100) return { code: -1, stdout, stderr };
    await new Promise((r) => setTimeout(r, 50));
  }
}

import { z } from "zod";
import { type Command, parseFlags } from "../command.ts";

const flagsSchema = z.strictObject({
  serve: z.boolean().default(false),
  clean: z.boolean().default(false),
  verbose: z.boolean().default(false),
  dir: z.string().min(1).optional(),
});

export const demoCommand: Command = {
  name: "demo",
  summary: "the whole pipeline on this machine: local registry and git remote, updates, a rollback",
  usage: `Usage: fleetwave demo [--serve] [--verbose] [--dir DIR]
       fleetwave demo --clean [--dir DIR]

Starts a private Docker Engine and registry on 127.0.0.1 (scripts/test-env.sh up: as root it
installs Debian's docker.io, docker-registry and busybox-static when missing), builds three bot
images, creates a GitOps repository (a bare "GitHub" remote and an operator's clone), runs an
agent with its HTTP API, rolls out a good release in waves (plus "Update now" for a manual
tenant) and a bad one that is rolled back with its data restored, then shows status, history
and the git log. Every step is checked; exit 1 with the reason when one does not end as expected.
Nothing is sent outside 127.0.0.0/8.

  --serve    keep the agent and its dashboard running until Ctrl-C
  --verbose  print the agent's log lines (always written to DIR/agent.log)
  --dir DIR  the demo workspace (default $FLEETWAVE_DEMO_DIR, else /tmp/fleetwave-demo);
             wiped at the start, with the previous demo's containers (named demo-*)
  --clean    remove the demo's containers, volumes and workspace, then exit`,
  async run(argv, io) {
    const { flags } = parseFlags(argv, flagsSchema);
    // Loaded on demand: the demo pulls in the test image builder, which no other command needs.
    const { DEFAULT_DEMO_DIR, cleanDemo, runDemo } = await import("#scripts/demo/demo.ts");
    const options = {
      dir: flags.dir ?? (io.env.FLEETWAVE_DEMO_DIR || DEFAULT_DEMO_DIR),
      serve: flags.serve,
      verbose: flags.verbose,
      out: io.out,
      err: io.err,
    };
    return flags.clean ? cleanDemo(options) : runDemo(options);
  },
};

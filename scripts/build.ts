/**
 * Builds the installable CLI into dist/: `npm run build` (also run by `prepack`). ES modules with
 * code splitting, so each command stays a chunk loaded only when it runs. The dependencies every
 * command loads at start (zod, yaml, js-yaml) are bundled: Node's ES module loader resolving and
 * reading their hundreds of small files was the largest part of `fleetwave validate`'s start-up
 * (bench/startup.bench.ts). The other dependencies stay external; npm installs them. Three modules read files at run time from a source checkout; the
 * build replaces them with what they would read, so the package has no sidecar files:
 * agent/src/build-info.ts (version and commit), agent/src/http/dashboard-client.ts (the
 * dashboard's script) and agent/src/init/repo-files.ts (what `fleetwave init` copies). The demo needs a source checkout (test images, scripts/test-env.sh), so
 * the built `fleetwave demo` says so instead.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
export const outdir = join(repoRoot, "dist");

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
};

/** Bundled into dist/ rather than loaded from node_modules; see the comment at the top. */
export const BUNDLED_DEPENDENCIES = new Set(["zod", "yaml", "js-yaml"]);

function externalDependencies(): string[] {
  return Object.keys(pkg.dependencies)
    .filter((name) => !BUNDLED_DEPENDENCIES.has(name))
    .flatMap((name) => [name, `${name}/*`]);
}

/** `node20` from engines.node `>=20`: the bundle targets the oldest Node the package supports. */
export function nodeTarget(engines: string): string {
  const major = /^>=\s*(\d+)/.exec(engines)?.[1];
  if (!major)
    throw new Error(`package.json engines.node "${engines}" is not ">=<major>"; the build needs it`);
  return `node${major}`;
}

/** The commit being built, with "-dirty" when the work tree has changes; "unknown" outside git. */
export function buildCommit(cwd: string): string {
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const head = git("rev-parse", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no") === "" ? head : `${head}-dirty`;
  } catch {
    return "unknown";
  }
}

/** Replaces whole modules with generated source, matched by their path in the repository. */
function replaceModules(replacements: Record<string, () => string>): Plugin {
  const byPath = new Map(
    Object.entries(replacements).map(([path, source]) => [join(repoRoot, path), source]),
  );
  return {
    name: "fleetwave-replace-modules",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = byPath.get(args.path);
        return source ? { contents: source(), loader: "ts", resolveDir: join(args.path, "..") } : undefined;
      });
    },
  };
}

export function buildOptions(commit: string): BuildOptions {
  return {
    absWorkingDir: repoRoot,
    entryPoints: { fleetwave: "agent/src/cli/bin.ts" },
    outdir: "dist",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    external: externalDependencies(),
    platform: "node",
    target: nodeTarget(pkg.engines.node),
    format: "esm",
    sourcemap: true,
    charset: "utf8",
    legalComments: "eof",
    logLevel: "warning",
    // A bundled CommonJS module inside an ES module still calls require() for node builtins.
    banner: {
      js: 'import { createRequire as __fleetwaveCreateRequire } from "node:module";\nconst require = __fleetwaveCreateRequire(import.meta.url);',
    },
    plugins: [
      replaceModules({
        "agent/src/build-info.ts": () =>
          `export function buildInfo() { return ${JSON.stringify({ version: pkg.version, commit })}; }`,
        "agent/src/http/dashboard-client.ts": () =>
          `export const CLIENT_SCRIPT = ${JSON.stringify(readFileSync(join(repoRoot, "agent/src/http/dashboard.client.js"), "utf8"))};`,
        "agent/src/init/repo-files.ts": () =>
          [
            ["HOSTED_MODE_YAML", "scripts/hosted-mode.yaml"],
            ["CHANGELOGS_README", "changelogs/README.md"],
          ]
            .map(
              ([name, path]) =>
                `export const ${name} = ${JSON.stringify(readFileSync(join(repoRoot, path!), "utf8"))};`,
            )
            .join("\n"),
        "scripts/demo/demo.ts": () => `import { FleetwaveError } from "../../agent/src/errors.ts";
export const DEFAULT_DEMO_DIR = "/tmp/fleetwave-demo";
function fromSource() {
  throw new FleetwaveError("the demo runs from a source checkout (it builds its test images there): git clone the repository, npm ci, npm run demo");
}
export const runDemo = fromSource;
export const cleanDemo = fromSource;`,
      }),
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  rmSync(outdir, { recursive: true, force: true });
  await build(buildOptions(buildCommit(repoRoot)));
}

/**
 * What `fleetwave init` writes into a new fleet repository, as text. Pure: the command does the
 * file I/O. The workflows install the Fleetwave package named by `fleetwavePackage` (a fleet
 * repository is the app's fork, not a Fleetwave checkout) and pin third-party actions by commit.
 */
import { stringify } from "yaml";
import { repositoryOf } from "../model/allowlist.ts";
import { generateJsonSchemas } from "../model/json-schema.ts";
import { CHANGELOGS_README, HOSTED_MODE_YAML } from "./repo-files.ts";

export interface InitOptions {
  /** The channel the bots follow, repository:tag. */
  image: string;
  /** The registry the build logs in to and pushes to (the image's registry). */
  registry: string;
  /** The upstream app's git URL for the nightly sync, or null to set it later. */
  upstream: string | null;
  /** Emails of the fleet's admins. */
  admins: string[];
  /** What the workflows `npm install -g`: a registry spec, a tarball URL or a git URL. */
  fleetwavePackage: string;
}

/** Third-party actions by commit SHA; the tag is only a comment, since a tag can be moved. */
export const PINNED_ACTIONS = {
  checkout: "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
  setupNode: "actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0",
  setupBuildx: "docker/setup-buildx-action@b5ca514318bd6ebac0fb2aedd5d36ec1b5c232a2 # v3.10.0",
  login: "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772 # v3.4.0",
  buildPush: "docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83 # v6.18.0",
} as const;

/** A YAML scalar for a value put into a workflow or fleet.yaml, quoted as YAML needs. */
const scalar = (value: string) => stringify(value).trimEnd();
/** A GitHub expression string literal: single quotes doubled. */
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

export function fleetYaml(o: InitOptions): string {
  const from = `fleetwave@${o.admins[0]?.split("@")[1] ?? "example.invalid"}`;
  const email =
    o.admins.length > 0
      ? `  email: { from: ${scalar(from)}, admins: [${o.admins.map(scalar).join(", ")}] } # SMTP from the agent's SMTP_URL`
      : "  # email: { from: fleet@example.com, admins: [ops@example.com] } # SMTP from the agent's SMTP_URL";
  return `# yaml-language-server: $schema=./schema/fleet.schema.json
# The whole fleet's settings (written by \`fleetwave init\`; the README's fleet-state section has
# every field). Defaults are the careful ones: updates wait for each tenant's window, a quarter of
# the bots per wave, and the first failures stop a rollout.
updates:
  mode: auto # auto | manual | paused (paused halts every rollout fleet-wide)
  defaultPreferredHourUtc: 3 # tenants without their own hour update from 03:00 UTC...
  windowMinutes: 60 # ...for an hour
strategy: # copied into each new rollout plan
  name: rolling-wave # rolling-wave | immediate | single-bot
  batchPercent: 25 # of all targets per wave (at least one bot)
  pauseSeconds: 300 # between waves
  maxParallel: 2 # bots updated at once inside a wave
  maxRetries: 1 # extra attempts per bot before it counts as failed
  failureThreshold: 1 # failed bots that stop the rollout...
  onThreshold: pause # ...until a person resumes it (abort also quarantines the digest)
  healthCheckTimeoutSeconds: 120
  minHealthySeconds: 30 # healthy this long after the first OK, or it is rolled back
images:
  allowlist: [${scalar(repositoryOf(o.image))}] # where bot images may come from
healthChecks:
  allowHosts: [] # health URLs go to loopback or the bot's own published ports unless listed here
snapshots:
  keepAfterSuccess: 1 # the snapshot before each update is kept until the next one succeeds
notifications:
${email}
  webhooks: []
`;
}

/** The step that tells whether the repository has an app (a Dockerfile); later steps check it. */
function appPresentStep(notice: string): string {
  return `      - name: Is there an app to build?
        id: app
        run: |
          if [ -f Dockerfile ]; then
            echo "present=true" >> "$GITHUB_OUTPUT"
          else
            echo "::notice::no Dockerfile at the repository root: ${notice}"
            echo "present=false" >> "$GITHUB_OUTPUT"
          fi`;
}

const INSTALL_FLEETWAVE = `      - uses: ${PINNED_ACTIONS.setupNode}
        with:
          node-version: 20

      - name: Install Fleetwave
        run: npm install -g --no-audit --no-fund "$FLEETWAVE_PACKAGE"`;

function packageEnv(o: InitOptions): string {
  return `  # The Fleetwave release the workflows run; the repository variable FLEETWAVE_PACKAGE overrides it.
  FLEETWAVE_PACKAGE: \${{ vars.FLEETWAVE_PACKAGE || ${literal(o.fleetwavePackage)} }}`;
}

function buildAndRollout(o: InitOptions): string {
  return `# A merge to main that changes the app builds its image, pushes it and commits a rollout plan for
# its digest (fleet-state/rollouts/<id>.yaml); the agents take it from there. Written by
# \`fleetwave init\`.
#
# The app can also be built elsewhere and ask for a plan here:
#   POST /repos/<this repo>/dispatches
#   {"event_type": "image-built",
#    "client_payload": {"image": "<repository:tag>", "digest": "sha256:…"}}
name: build-and-rollout

on:
  push:
    branches: [main]
    # The one place that says what is the app: a push that changes none of these paths builds
    # nothing. fleet-state/ changes are agents' status commits and this workflow's own plans.
    paths:
      - "**"
      - "!fleet-state/**"
      - "!changelogs/**"
      - "!.github/**"
      - "!**/*.md"
  workflow_dispatch:
    inputs:
      strategy:
        description: Strategy for this plan
        type: choice
        options: [fleet-default, rolling-wave, immediate, single-bot]
        default: fleet-default
      bot:
        description: The bot of a single-bot plan
        type: string
        default: ""
  repository_dispatch:
    types: [image-built]

permissions: {}

env:
  # The channel the bots follow (tenants/*.yaml \`image\`); the repository variable FLEETWAVE_IMAGE overrides it.
  IMAGE: \${{ vars.FLEETWAVE_IMAGE || ${literal(o.image)} }}
${packageEnv(o)}

jobs:
  build:
    if: github.event_name != 'repository_dispatch'
    runs-on: ubuntu-latest
    timeout-minutes: 60
    permissions:
      contents: read
      packages: write # push the image (ghcr.io; other registries use the secrets below)
    outputs:
      digest: \${{ steps.build.outputs.digest }}
    steps:
      - uses: ${PINNED_ACTIONS.checkout}

${appPresentStep("nothing to build, no plan")}

      - if: steps.app.outputs.present == 'true'
        uses: ${PINNED_ACTIONS.setupBuildx}

      - if: steps.app.outputs.present == 'true'
        uses: ${PINNED_ACTIONS.login}
        with:
          registry: ${scalar(o.registry)}
          username: \${{ secrets.REGISTRY_USERNAME || github.actor }}
          password: \${{ secrets.REGISTRY_PASSWORD || secrets.GITHUB_TOKEN }}

      - name: Build and push
        if: steps.app.outputs.present == 'true'
        id: build
        uses: ${PINNED_ACTIONS.buildPush}
        with:
          context: .
          push: true
          tags: \${{ env.IMAGE }}
          labels: |
            org.opencontainers.image.source=\${{ github.server_url }}/\${{ github.repository }}
            org.opencontainers.image.revision=\${{ github.sha }}

  plan:
    needs: build
    # After a build that produced an image, or alone for a repository_dispatch.
    if: >-
      \${{ !cancelled() && ((needs.build.result == 'success' && needs.build.outputs.digest != '') ||
      (github.event_name == 'repository_dispatch' && needs.build.result == 'skipped')) }}
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      contents: write # commit and push the plan
    # One plan at a time: two plans never race on fleet-state/rollouts.
    concurrency:
      group: fleetwave-rollout-plan
      cancel-in-progress: false
    steps:
      - uses: ${PINNED_ACTIONS.checkout}
        with:
          ref: \${{ github.event.repository.default_branch }}
          fetch-depth: 0

${INSTALL_FLEETWAVE}

      - name: Plan the rollout, commit and push it
        env:
          PLAN_IMAGE: \${{ github.event.client_payload.image || env.IMAGE }}
          PLAN_DIGEST: \${{ github.event.client_payload.digest || needs.build.outputs.digest }}
          PLAN_STRATEGY: \${{ inputs.strategy != 'fleet-default' && inputs.strategy || '' }}
          PLAN_BOT: \${{ inputs.bot }}
          BRANCH: \${{ github.event.repository.default_branch }}
        run: |
          set -euo pipefail
          args=(--image "$PLAN_IMAGE" --digest "$PLAN_DIGEST" --state fleet-state --allow-empty)
          if [ -n "$PLAN_STRATEGY" ]; then args+=(--strategy "$PLAN_STRATEGY"); fi
          if [ -n "$PLAN_BOT" ]; then args+=(--bot "$PLAN_BOT"); fi
          if [ -f changelogs/user-facing/latest.json ]; then
            args+=(--changelog changelogs/user-facing/latest.json)
          fi
          fleetwave plan "\${args[@]}"
          git add fleet-state/rollouts
          if git diff --cached --quiet; then
            echo "No bot is a target of $PLAN_IMAGE at $PLAN_DIGEST: nothing to commit."
            exit 0
          fi
          id="$(basename "$(git diff --cached --name-only -- fleet-state/rollouts | head -n 1)" .yaml)"
          git -c user.name="github-actions[bot]" \\
            -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \\
            commit --quiet -m "Roll out $PLAN_IMAGE (rollout $id)" -m "Fleetwave-Rollout: $id"
          for attempt in 1 2 3 4 5; do
            if git push --quiet origin "HEAD:$BRANCH"; then exit 0; fi
            # Agents push status commits all the time: rebase on them and try again.
            sleep "$((attempt * 2))"
            git pull --quiet --rebase origin "$BRANCH"
          done
          echo "::error::the plan commit could not be pushed after 5 attempts"
          exit 1
`;
}

function validateFleetState(o: InitOptions): string {
  return `# Every change to fleet-state/ is validated; problems show as annotations on the changed lines.
# Written by \`fleetwave init\`.
name: validate-fleet-state

on:
  pull_request:
    paths:
      - "fleet-state/**"
  push:
    branches: [main]
    paths:
      - "fleet-state/**"

permissions:
  contents: read

env:
${packageEnv(o)}

jobs:
  validate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: ${PINNED_ACTIONS.checkout}

${INSTALL_FLEETWAVE}

      - name: fleetwave validate
        run: fleetwave validate --state fleet-state --format github
`;
}

function upstreamSync(o: InitOptions): string {
  const upstream = o.upstream ? `vars.UPSTREAM_URL || ${literal(o.upstream)}` : "vars.UPSTREAM_URL";
  return `# Nightly sync of this fork with the upstream app: \`fleetwave sync-upstream\` rebases (or merges)
# upstream onto a sync/upstream-YYYY-MM-DD branch, writes the changelogs, runs the hosted-mode
# guard scan (scripts/hosted-mode.yaml) and opens the review PR. Exit 2 means "nothing new
# upstream". Written by \`fleetwave init\`.
name: upstream-sync

on:
  schedule:
    - cron: "0 6 * * *" # 06:00 UTC daily
  workflow_dispatch:
    inputs:
      strategy:
        description: "rebase (the fork's commits replayed on top) or merge (long-lived forks)"
        type: choice
        options: [rebase, merge]
        default: rebase

permissions: {}

concurrency:
  group: upstream-sync
  cancel-in-progress: false

env:
${packageEnv(o)}

jobs:
  sync:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: write # push sync/upstream-* branches
      pull-requests: write # open or update the sync PR
    steps:
      - uses: ${PINNED_ACTIONS.checkout}
        with:
          fetch-depth: 0
          # Pushes made with GITHUB_TOKEN do not trigger other workflows; set SYNC_TOKEN if CI
          # must run on the sync PR.
          token: \${{ secrets.SYNC_TOKEN || github.token }}

${INSTALL_FLEETWAVE}

      - name: Sync with upstream
        env:
          GITHUB_TOKEN: \${{ secrets.SYNC_TOKEN || secrets.GITHUB_TOKEN }}
          UPSTREAM_URL: \${{ ${upstream} }}
          STRATEGY: \${{ inputs.strategy || 'rebase' }}
        run: |
          if [ -z "$UPSTREAM_URL" ]; then
            echo "::error::set the repository variable UPSTREAM_URL to the upstream app's git URL"
            exit 1
          fi
          set +e
          fleetwave sync-upstream --repo . --upstream "$UPSTREAM_URL" --strategy "$STRATEGY" \\
            --open-pr --report "$GITHUB_STEP_SUMMARY"
          code=$?
          set -e
          if [ "$code" -eq 2 ]; then
            echo "Nothing new upstream."
            exit 0
          fi
          exit "$code"
`;
}

function ci(o: InitOptions): string {
  return `# Every push and pull request: fleet-state is valid and the app's image builds (without
# pushing). Written by \`fleetwave init\`.
name: ci

on:
  push:
  pull_request:

permissions:
  contents: read

concurrency:
  group: ci-\${{ github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}

env:
${packageEnv(o)}

jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 60
    steps:
      - uses: ${PINNED_ACTIONS.checkout}

${INSTALL_FLEETWAVE}

      - name: fleetwave validate
        run: fleetwave validate --state fleet-state --format github

${appPresentStep("no image to build")}

      - if: steps.app.outputs.present == 'true'
        uses: ${PINNED_ACTIONS.setupBuildx}

      - name: Build the image (not pushed)
        if: steps.app.outputs.present == 'true'
        uses: ${PINNED_ACTIONS.buildPush}
        with:
          context: .
          push: false
`;
}

/** Every file of a new fleet repository, by its path in the repository. */
export function initFiles(o: InitOptions): Map<string, string> {
  const files = new Map<string, string>([
    ["fleet-state/fleet.yaml", fleetYaml(o)],
    ["fleet-state/tenants/.gitkeep", ""],
    ["fleet-state/rollouts/.gitkeep", ""],
    ["fleet-state/status/.gitkeep", ""],
    ["scripts/hosted-mode.yaml", HOSTED_MODE_YAML],
    ["changelogs/README.md", CHANGELOGS_README],
    [".github/workflows/build-and-rollout.yml", buildAndRollout(o)],
    [".github/workflows/validate-fleet-state.yml", validateFleetState(o)],
    [".github/workflows/upstream-sync.yml", upstreamSync(o)],
    [".github/workflows/ci.yml", ci(o)],
  ]);
  for (const [name, text] of generateJsonSchemas()) files.set(`fleet-state/schema/${name}`, text);
  return files;
}

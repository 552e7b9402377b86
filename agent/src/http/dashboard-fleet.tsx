/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The pragma (not only tsconfig) makes tsx compile this file right from any working directory.
/**
 * The dashboard's fleet-wide part: every host's bots and every rollout's progress per wave and
 * host, from the status refs the agent fetches. Bots of other hosts carry no action button: their
 * own agent acts on them ("Update now" on that host's dashboard), and rollout or fleet controls
 * are edits of desired state in git, which every agent follows.
 */

import type { FleetRolloutView, FleetView, PhaseCounts, TargetPhase } from "../plan/fleet-view.ts";
import { digestCell } from "../text/digest.ts";

const PHASES: { phase: TargetPhase; label: string }[] = [
  { phase: "done", label: "Done" },
  { phase: "in-flight", label: "In flight" },
  { phase: "failed", label: "Failed" },
  { phase: "pending", label: "Pending" },
  { phase: "waiting-window", label: "Waiting: window" },
  { phase: "waiting-update-now", label: "Waiting: Update now" },
];

const Count = ({ n, phase }: { n: number; phase: TargetPhase }) =>
  n === 0 ? <span class="muted">0</span> : <strong data-phase={phase}>{n}</strong>;

function RolloutProgressTable({ rollout: r }: { rollout: FleetRolloutView }) {
  const row = (label: string, host: string, counts: PhaseCounts & { total: number }) => (
    <tr data-fleet-rollout={r.id} data-wave={label} data-host={host}>
      <td>{label}</td>
      <td>{host}</td>
      {PHASES.map(({ phase }) => (
        <td>
          <Count n={counts[phase]} phase={phase} />
        </td>
      ))}
      <td>{counts.total}</td>
    </tr>
  );
  return (
    <>
      <h3 class="small">
        <code>{r.id}</code> <span class="muted">{r.image}</span> <code>{digestCell(r.digest)}</code>{" "}
        <span class="muted">control: {r.control}</span>
      </h3>
      <table>
        <thead>
          <tr>
            <th>Wave</th>
            <th>Host</th>
            {PHASES.map(({ label }) => (
              <th>{label}</th>
            ))}
            <th>Targets</th>
          </tr>
        </thead>
        <tbody>
          {r.waves.flatMap((w) => w.hosts.map((h) => row(String(w.wave), h.host, h)))}
          {row("all", "all hosts", r.totals)}
        </tbody>
      </table>
    </>
  );
}

/** `#fleet`: hosts, their bots, and each rollout per wave and host. */
export function FleetSection({ fleet, self }: { fleet: FleetView; self: string }) {
  const bots = fleet.hosts.flatMap((h) => h.bots);
  return (
    <section id="fleet">
      <h2>
        Fleet{" "}
        <span class="count">
          ({fleet.hosts.length} hosts, {bots.length} bots)
        </span>
      </h2>
      <table>
        <thead>
          <tr>
            <th>Host</th>
            <th>Bot</th>
            <th>Tenant</th>
            <th>Digest</th>
            <th>State</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {fleet.hosts.flatMap((h) =>
            h.bots.map((b) => (
              <tr data-fleet-bot={b.id} data-host={h.host}>
                <td>
                  {h.host}
                  {h.host === self ? <span class="muted small"> (this host)</span> : ""}
                  {h.engineUnavailable ? <span class="badge bad">engine unavailable</span> : ""}
                </td>
                <td>{b.id}</td>
                <td>{b.tenant}</td>
                <td>
                  <code title={b.digest ?? ""}>{digestCell(b.digest)}</code>
                </td>
                <td>
                  <span class="badge">{b.state}</span>
                  {b.updateAvailable ? <span class="small muted"> update waiting</span> : ""}
                </td>
                <td class="small muted">
                  {h.host === self
                    ? "see Bots above"
                    : `${h.host}'s bot: act on ${h.host}'s dashboard, or in git (desired state)`}
                </td>
              </tr>
            )),
          )}
        </tbody>
      </table>
      <h2>
        Rollout progress across hosts <span class="count">({fleet.rollouts.length})</span>
      </h2>
      {fleet.rollouts.length === 0 ? (
        <p class="muted">No rollout plans in fleet-state.</p>
      ) : (
        fleet.rollouts.map((r) => <RolloutProgressTable rollout={r} />)
      )}
    </section>
  );
}

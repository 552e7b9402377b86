/** What the benches measure with: CPU time from /proc and the median of a sample. */
import { readFileSync } from "node:fs";

/**
 * CPU seconds of this process and of the children it has waited for (git runs as a child), from
 * /proc/self/stat: utime + stime and cutime + cstime, in clock ticks of 10 ms.
 */
export function cpuSeconds(): { self: number; children: number } {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  // utime, stime, cutime, cstime are fields 14–17 of stat(5); here offset by the two dropped.
  const ticks = (i: number) => Number(fields[i]) / 100;
  return { self: ticks(11) + ticks(12), children: ticks(13) + ticks(14) };
}

/** `cpuSeconds()` of this process and its children together. */
export function totalCpuSeconds(): number {
  const { self, children } = cpuSeconds();
  return self + children;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

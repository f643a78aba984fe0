import type { MigrationProgress } from '../engine/types';

/**
 * Pure summaries of migration lists, shared by the CLI's views and the demo. No I/O: unit tested
 * in test/unit/repository-summary.test.ts.
 */

/** Status names in the order people read them: what is done first, what needs attention last. */
export const STATUS_ORDER: readonly string[] = Object.freeze(['finished', 'running', 'active', 'paused', 'failed']);

export interface OverallProgress {
  /** 0..1: each migration's percent weighted by its size (its row estimate, at least 1). */
  fraction: number;
  /** Rows processed by all of them, exactly (the counters are Postgres bigints). */
  rows: bigint;
  /** Count per status in STATUS_ORDER, e.g. "2 finished, 1 running". */
  detail: string;
}

/** The selection as one progress bar. An empty selection is 0 % with no detail. */
export function overall(progress: readonly MigrationProgress[]): OverallProgress {
  let weight = 0;
  let done = 0;
  let rows = 0n;
  const counts: Record<string, number> = {};
  for (const p of progress) {
    // Number() for the weight only: a bar needs a float, the row total stays exact.
    const w = Math.max(1, Number(p.totalEstimate ?? 1));
    weight += w;
    done += (w * p.percent) / 100;
    rows += BigInt(p.rowsProcessed);
    counts[p.status] = (counts[p.status] ?? 0) + 1;
  }
  return { fraction: weight === 0 ? 0 : done / weight, rows, detail: describeCounts(counts) };
}

/** "2 finished, 1 failed" from `{ finished: 2, failed: 1 }`, in STATUS_ORDER, then any other status alphabetically; zeros left out. */
export function describeCounts(counts: Readonly<Record<string, number>>): string {
  const others = Object.keys(counts)
    .filter((s) => !STATUS_ORDER.includes(s))
    .sort();
  return [...STATUS_ORDER, ...others]
    .filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

/** Statuses from which a command moves a migration, and the status it moves it to. */
export const TRANSITIONS = Object.freeze({
  pause: Object.freeze({ from: Object.freeze(['active', 'running']), to: 'paused' }),
  resume: Object.freeze({ from: Object.freeze(['paused']), to: 'active' }),
} as const);
export type Transition = keyof typeof TRANSITIONS;

/**
 * Whether a migration that was a target of `kind` (in its `from` statuses) now shows that the
 * change was applied: paused for a pause; for a resume, anything but paused, since the workflow
 * that resumed it may already have started a job (running) or even finished it by the time the
 * status is read. So the report lists what the audit event recorded as changed.
 */
export function transitionApplied(kind: Transition, status: string): boolean {
  return kind === 'resume' ? status !== 'paused' : status === TRANSITIONS.pause.to;
}

/**
 * Which of `migrations` a pause or resume would move, grouped by repository (keys sorted, names
 * in input order). `name` narrows to one migration; migrations outside `from` are left out.
 */
export function transitionTargets(
  kind: Transition,
  migrations: readonly { name: string; repository: string; status: string }[],
  name?: string,
): Map<string, string[]> {
  const from: readonly string[] = TRANSITIONS[kind].from;
  const byRepository = new Map<string, string[]>();
  for (const m of migrations) {
    if ((name !== undefined && m.name !== name) || !from.includes(m.status)) continue;
    byRepository.set(m.repository, [...(byRepository.get(m.repository) ?? []), m.name]);
  }
  return new Map([...byRepository.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

import type { CpuSeconds } from './cpu';
import type { BenchReport, ContenderResult } from './results';

/**
 * What this machine's cores allow bbm's N repositories against N plain loops, at one batch size,
 * from the CPU both took in the same bench run (bench/cpu.ts). When the cores are what runs out,
 * the rows/s ratio cannot exceed the ratio of the CPU each spends per job, scaled by how much of
 * the machine the loops left idle. Every figure in ms of CPU per job (all cores), or in x of N loops.
 */
export interface CpuBudget {
  batch: number;
  repositories: number;
  /** CPU per job of the N plain loops: Postgres and the bench process that runs them. */
  loopsMsPerJob: number;
  /** Cores the N loops kept busy (the machine has `cores`). */
  loopsCores: number;
  /** CPU per job of bbm's N repositories, by process group (`other` left out), and their sum. */
  bbm: { postgres: number; worker: number; temporal: number; bench: number; total: number };
  /** The most bbm can reach against N loops here: (cores / loopsCores) x (loopsMsPerJob / bbm.total). */
  ceiling: number;
  /** What the run measured (rows/s against N loops). */
  measured: number;
  /**
   * The same bound for a bbm whose only cost beyond the loops' Postgres CPU were the Temporal SDK's
   * own CPU per local activity (the SDK floor, bench/sdk-floor.ts): no bbm SQL, no bbm code, and
   * no Temporal server. Absent when the floor was not measured.
   */
  floorCeiling?: number;
}

const groups = (cpu: CpuSeconds): number => cpu.postgres + cpu.worker + cpu.temporal + cpu.bench;

/**
 * The budget of every batch size where the run has both `N plain loops in parallel` and `bbm, N
 * repositories` with their CPU measured (Linux); `cores` is the machine's. The floor's CPU per
 * local activity (ms) adds `floorCeiling`.
 */
export function cpuBudgets(contenders: ContenderResult[], cores: number, floorCpuMsPerActivity?: number): CpuBudget[] {
  const out: CpuBudget[] = [];
  for (const bbm of contenders.filter((c) => c.contender === 'parallel' && c.cpu && c.jobs > 0)) {
    const loops = contenders.find((c) => c.contender === 'plain-parallel' && c.batch === bbm.batch && c.cpu && c.jobs > 0);
    if (!loops?.cpu || !bbm.cpu || bbm.ratioToLoops === null) continue;
    const loopsMsPerJob = (groups(loops.cpu) * 1000) / loops.jobs;
    const loopsCores = groups(loops.cpu) / (loops.wallMs / 1000);
    if (loopsMsPerJob <= 0 || loopsCores <= 0) continue;
    const perJob = (s: number): number => (s * 1000) / bbm.jobs;
    const total = perJob(groups(bbm.cpu));
    const headroom = cores / loopsCores;
    out.push({
      batch: bbm.batch,
      repositories: bbm.repositories,
      loopsMsPerJob,
      loopsCores,
      bbm: {
        postgres: perJob(bbm.cpu.postgres),
        worker: perJob(bbm.cpu.worker),
        temporal: perJob(bbm.cpu.temporal),
        bench: perJob(bbm.cpu.bench),
        total,
      },
      ceiling: (headroom * loopsMsPerJob) / total,
      measured: bbm.ratioToLoops,
      ...(floorCpuMsPerActivity && floorCpuMsPerActivity > 0
        ? { floorCeiling: (headroom * loopsMsPerJob) / (loopsMsPerJob + floorCpuMsPerActivity) }
        : {}),
    });
  }
  return out;
}

/** The budgets of a finished report (its machine's cores, its SDK floor). */
export function reportCpuBudgets(report: Pick<BenchReport, 'contenders' | 'machine' | 'noop'>): CpuBudget[] {
  const floor = report.noop.sdkFloor;
  const floorCpu = 'workerCpuMsPerActivity' in floor ? floor.workerCpuMsPerActivity : undefined;
  return cpuBudgets(report.contenders, Number(report.machine.cpus), floorCpu);
}

/** The report's lines for the budgets (none when there are none). */
export function formatCpuBudgets(budgets: CpuBudget[], cores: number): string[] {
  if (budgets.length === 0) return [];
  const lines = [`what this machine's ${cores} cores allow N repositories against N plain loops (CPU of the bench's processes per job):`];
  for (const b of budgets) {
    const { postgres, worker, temporal, bench, total } = b.bbm;
    lines.push(
      `  batch ${b.batch}: ${b.repositories} loops ${b.loopsMsPerJob.toFixed(2)} ms (${b.loopsCores.toFixed(2)} cores busy); ` +
        `bbm ${total.toFixed(2)} ms (postgres ${postgres.toFixed(2)}, worker ${worker.toFixed(2)}, temporal ${temporal.toFixed(2)}, bench ${bench.toFixed(2)}) ` +
        `-> at most ${b.ceiling.toFixed(2)}x of ${b.repositories} loops, measured ${b.measured.toFixed(2)}x` +
        (b.floorCeiling === undefined
          ? ''
          : `; a bbm costing nothing but the SDK floor's CPU per local activity would reach at most ${b.floorCeiling.toFixed(2)}x`),
    );
  }
  return lines;
}

import type { Client, WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface RunHistory {
  runId: string;
  events: number;
  /** Wall time between the run's first and last event. */
  spanMs: number;
  /** Local-activity markers (lock, find, execute, release) recorded in the run. */
  markers: number;
  workflowTasks: number;
}

export interface WorkflowHistory {
  workflowId: string;
  /** One entry per run: continue-as-new splits a workflow into runs, each with its own history. */
  runs: RunHistory[];
  largestRun: number;
}

/**
 * Walk a workflow's continue-as-new chain from its first run and measure every run's history,
 * so "no history above N events" is checked for each run, not just the last one.
 */
export async function workflowHistory(client: Client, workflowId: string, firstRunId: string): Promise<WorkflowHistory> {
  const runs: RunHistory[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    const time = (i: number): number => {
      const t = events[i]?.eventTime;
      return t ? Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6) : 0;
    };
    runs.push({
      runId,
      events: events.length,
      spanMs: events.length > 1 ? time(events.length - 1) - time(0) : 0,
      markers: events.filter((e) => e.markerRecordedEventAttributes).length,
      workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    });
    runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return { workflowId, runs, largestRun: Math.max(0, ...runs.map((r) => r.events)) };
}

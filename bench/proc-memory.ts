/**
 * A process's memory as Linux reports it in /proc/<pid>/status, read from outside the process so
 * the bench measures the production worker without code of its own inside it.
 */
export interface ProcMemory {
  /** Resident set size now (VmRSS), in bytes. */
  rss: number;
  /** Largest resident set size since the process started (VmHWM), in bytes. */
  peak: number;
  /** Resident anonymous memory (RssAnon: heaps, malloc), in bytes; 0 if the kernel does not report it. */
  anon: number;
  /** Resident file-backed memory (RssFile: the node binary, shared libraries), in bytes; 0 if not reported. */
  file: number;
}

/**
 * Parse the text of /proc/<pid>/status (sizes in kB).
 * @returns undefined when VmRSS is missing (a zombie, or not Linux's format)
 */
export function parseProcStatus(text: string): ProcMemory | undefined {
  const kB = (field: string): number | undefined => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kB('VmRSS');
  if (rss === undefined) return undefined;
  return { rss, peak: Math.max(rss, kB('VmHWM') ?? 0), anon: kB('RssAnon') ?? 0, file: kB('RssFile') ?? 0 };
}

/**
 * The values of the given unlabelled samples in a Prometheus text exposition (the worker's
 * /metrics), by metric name; names that are absent are left out.
 */
export function promSamples(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, value] = line.split(' ');
    if (name !== undefined && value !== undefined && names.includes(name) && Number.isFinite(Number(value))) out[name] = Number(value);
  }
  return out;
}

/**
 * Sum of every sample of `name` in a Prometheus text exposition, per value of its `label`
 * (e.g. bbm_run_ahead_total by outcome); samples without that label are left out.
 */
export function promByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = pattern.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    const labelled = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1]!);
    if (labelled && Number.isFinite(value)) out[labelled[1]!] = (out[labelled[1]!] ?? 0) + value;
  }
  return out;
}

/** An unlabelled Prometheus histogram's totals: observations, their sum, and how many were exactly 0 (bucket le="0"). */
export interface HistogramTotals {
  count: number;
  sum: number;
  zero: number;
}

/** The totals of the unlabelled histogram `name` in a Prometheus text exposition (all 0 when absent). */
export function promHistogram(text: string, name: string): HistogramTotals {
  const plain = promSamples(text, [`${name}_count`, `${name}_sum`]);
  const zero = promByLabel(text, `${name}_bucket`, 'le')['0'] ?? 0;
  return { count: plain[`${name}_count`] ?? 0, sum: plain[`${name}_sum`] ?? 0, zero };
}

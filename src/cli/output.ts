/**
 * Everything the CLI prints goes through here: human tables by default, JSON with `--json`,
 * errors as `error[CODE]: message` on stderr. Pure formatting, no I/O beyond the given streams.
 */

export interface OutputOptions {
  json: boolean;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream;
}

export class Output {
  readonly json: boolean;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  private streamed = false;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  /** True when progress bars make sense: a terminal, and not a script asking for JSON. */
  get interactive(): boolean {
    return !this.json && Boolean(this.stdout.isTTY);
  }

  /**
   * `data` as one JSON document with --json (one line when progress events were streamed before
   * it, so the whole output stays JSON lines), otherwise the human rendering.
   */
  result(data: unknown, human: () => string): void {
    if (this.json) this.stdout.write(JSON.stringify(data, null, this.streamed ? undefined : 2) + '\n');
    else this.line(human());
  }

  /** One line for people; suppressed in --json mode so stdout stays parseable. */
  line(text = ''): void {
    if (!this.json) this.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** One JSON object per line (for streams of events in --json mode). */
  event(data: unknown): void {
    this.streamed = true;
    this.stdout.write(JSON.stringify(data) + '\n');
  }

  /** Notes and warnings go to stderr in both modes. */
  note(text: string): void {
    this.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function renderTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?\d{1,3}(,\d{3})*(\.\d+)?%?$|^-?\d+(\.\d+)?%?$|^-$/.test(r[i] ?? '')),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmt(headers), ...cells.map(fmt)].join('\n');
}

/** `key  value` lines with aligned values. */
export function renderFields(fields: [string, string | number | null | undefined][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined || v === '' ? '-' : v}`).join('\n');
}

/** Thousands separators; bigints and decimal strings (ids, row counts beyond 2^53) are grouped exactly. */
export function formatCount(n: number | bigint | string | null | undefined): string {
  if (n === null || n === undefined) return '-';
  return typeof n === 'number' ? Math.round(n).toLocaleString('en-US') : BigInt(n).toLocaleString('en-US');
}

export function formatPercent(p: number | null | undefined): string {
  return p === null || p === undefined ? '-' : `${p.toFixed(1)}%`;
}

/** 75 -> "1m15s", 3725 -> "1h02m". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Passwords in connection strings never reach the terminal, even inside a driver's message. */
export function redactSecrets(text: string): string {
  return text.replace(/(\w+:\/\/[^:/@\s]+):[^@\s]*@/g, '$1:***@');
}

/** "100 rows, 100 ms apart", or "off (one transaction per job)". */
export function subBatchText(size: number | null, pauseMs: number): string {
  return size === null ? 'off (one transaction per job)' : `${formatCount(size)} rows, ${formatCount(pauseMs)} ms apart`;
}

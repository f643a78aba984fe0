import cliProgress from 'cli-progress';
import { formatCount, formatDuration, type Output } from './output';

/** One observation of something that advances: a fraction done and the rows behind it. */
export interface ProgressSample {
  /** 0..1 */
  fraction: number;
  /** Rows changed so far (exact; shown as a decimal string in --json events); omit when unknown (the rows and rate columns are left out). */
  rows?: number | bigint;
  /** Short status shown after the numbers, e.g. "12/50 repositories finished". */
  detail?: string;
}

/**
 * Rate and ETA from what was observed during this wait (a sliding window), not from averages
 * since the migration began: a paused-then-resumed migration gets an honest ETA.
 */
export class RateTracker {
  private readonly samples: { t: number; fraction: number; rows: number }[] = [];

  constructor(private readonly windowMs = 20_000) {}

  add(sample: ProgressSample, now = Date.now()): { rowsPerSecond: number | null; etaSeconds: number | null } {
    // Rates are floats for display only; the exact count is what update() prints.
    this.samples.push({ t: now, fraction: sample.fraction, rows: Number(sample.rows ?? 0) });
    while (this.samples.length > 2 && now - (this.samples[0]?.t ?? now) > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    if (!first || now - first.t < 500) return { rowsPerSecond: null, etaSeconds: null };
    const dt = (now - first.t) / 1000;
    const rowsPerSecond = sample.rows === undefined ? null : Math.max(0, (Number(sample.rows) - first.rows) / dt);
    const fractionPerSecond = (sample.fraction - first.fraction) / dt;
    const etaSeconds = sample.fraction >= 1 ? 0 : fractionPerSecond > 0 ? (1 - sample.fraction) / fractionPerSecond : null;
    return { rowsPerSecond, etaSeconds };
  }
}

export interface ProgressViewOptions {
  out: Output;
  title: string;
  /** Plain mode prints at most one line per this interval (and on every detail change). @default 5000 */
  plainIntervalMs?: number;
  /** Show rows and rows/s. @default true */
  rows?: boolean;
}

/**
 * A progress bar with rate and ETA when stdout is a terminal; plain timestamped lines otherwise
 * (CI logs, pipes); JSON lines with --json. Messages logged while it runs appear above the bar.
 */
export class ProgressView {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly rate = new RateTracker();
  private started = false;
  private lastPlain = 0;
  private lastDetail: string | undefined;
  private readonly plainIntervalMs: number;

  constructor(private readonly options: ProgressViewOptions) {
    this.plainIntervalMs = options.plainIntervalMs ?? 5_000;
    if (options.out.interactive) {
      const rows = options.rows === false ? '' : ' | {rows} rows | {rate} rows/s';
      this.bar = new cliProgress.SingleBar(
        {
          format: `${options.title} {bar} {pct}${rows} | ETA {eta} | {detail}`,
          stream: options.out.stdout,
          hideCursor: true,
          barsize: 30,
          fps: 5,
          // Ctrl-C restores the cursor and leaves the last frame on screen.
          gracefulExit: true,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  update(sample: ProgressSample): void {
    const { rowsPerSecond, etaSeconds } = this.rate.add(sample);
    const payload = {
      pct: `${(Math.min(1, sample.fraction) * 100).toFixed(1)}%`.padStart(6),
      rows: formatCount(sample.rows),
      rate: rowsPerSecond === null ? '-' : formatCount(rowsPerSecond),
      eta: formatDuration(etaSeconds),
      detail: sample.detail ?? '',
    };
    const value = Math.round(Math.min(1, Math.max(0, sample.fraction)) * 1000);
    if (this.bar) {
      if (!this.started) this.bar.start(1000, value, payload);
      else this.bar.update(value, payload);
      this.started = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain < this.plainIntervalMs && sample.detail === this.lastDetail && sample.fraction < 1) return;
    this.lastPlain = now;
    this.lastDetail = sample.detail;
    if (this.options.out.json) {
      this.options.out.event({
        event: 'progress',
        title: this.options.title,
        percent: Number((sample.fraction * 100).toFixed(1)),
        rows: sample.rows === undefined ? null : String(sample.rows),
        rowsPerSecond,
        etaSeconds,
        detail: sample.detail ?? null,
        at: new Date().toISOString(),
      });
    } else {
      const rows = this.options.rows === false ? '' : ` | ${payload.rows} rows | ${payload.rate} rows/s`;
      this.options.out.line(
        `${new Date().toISOString().slice(11, 19)} ${this.options.title} ${payload.pct.trim()}${rows} | ETA ${payload.eta}${payload.detail ? ` | ${payload.detail}` : ''}`,
      );
    }
  }

  /** A message that must not be overwritten by the bar. */
  log(text: string): void {
    if (this.options.out.json) return;
    if (this.bar && this.started) {
      // Clear the bar's line, print, and let the next update redraw it below.
      this.options.out.stdout.write('\r\x1b[2K' + text + '\n');
      this.bar.render();
    } else {
      this.options.out.line(text);
    }
  }

  stop(): void {
    if (this.bar && this.started) this.bar.stop();
    this.started = false;
  }
}

/**
 * One progress line while the benchmark runs: rewritten in place on a terminal, plain lines
 * (at most one every few seconds, and one per phase) when the output goes to a file or CI log.
 */
export class ProgressLine {
  private lastPlain = 0;
  private lastPhase = '';
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 5_000,
  ) {}

  get tty(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(phase: string, detail = ''): void {
    const text = detail ? `${phase}: ${detail}` : phase;
    if (this.tty) {
      const width = this.stream.columns ?? 120;
      this.stream.write(`\r\x1b[2K${text.slice(0, width - 1)}`);
      this.shown = true;
      return;
    }
    const now = Date.now();
    if (phase !== this.lastPhase || now - this.lastPlain >= this.plainEveryMs) {
      this.stream.write(`${text}\n`);
      this.lastPlain = now;
      this.lastPhase = phase;
    }
  }

  /** Clear the line so the next normal output starts clean. */
  clear(): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** Poll `read` every `everyMs` until the returned stop function is called. */
export function poll(everyMs: number, read: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    current = current.then(read).catch(() => undefined);
  }, everyMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await current;
  };
}

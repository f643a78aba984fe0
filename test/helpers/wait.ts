/**
 * Poll `probe` until it returns a truthy value or `timeoutMs` passes (then throw with `what`).
 * The bound only decides how long a failing test takes to say so: a passing one returns as soon
 * as the state is reached, so it is generous enough for a loaded 2-core machine.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Poll `probe` until it returns a truthy value or `timeoutMs` passes (then throw with `what`).
 * The default ceiling is generous on purpose: a state-based wait returns as soon as the state is
 * reached, so the ceiling only decides how long a real failure takes to report, and a loaded
 * 2-core CI machine can be many times slower than a developer's laptop.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 180_000,
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

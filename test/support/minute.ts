/**
 * Runs `attempt` inside one clock minute, the window the gateway's rate limit counts in. Calls
 * that straddle a minute's end fall into two windows and a limit is not reached (it failed CI
 * once), so such a try is made again — `attempt` sets up its own fresh contract — at most three
 * times; the third is returned whatever the clock did.
 */
export async function inOneMinute<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    const minute = Math.floor(Date.now() / 60_000);
    const result = await attempt();
    if (Math.floor(Date.now() / 60_000) === minute || tries === 3) return result;
  }
}

/** Counting what the servers under test stored. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Messages in new/ (and cur/ when `withCur`) of every user's INBOX under `vmail/<domain>/<local>`. */
export async function countMessages(vmail: string, users: readonly string[], withCur = true): Promise<number> {
  const counts = await Promise.all(
    users.map(async (u) => {
      const [local, domain] = u.split('@') as [string, string];
      const root = path.join(vmail, domain, local);
      const n = (await readdir(path.join(root, 'new')).catch(() => [])).length;
      return withCur ? n + (await readdir(path.join(root, 'cur')).catch(() => [])).length : n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Polls until at least `expected` messages are stored, or nothing new arrived for `stallMs`.
 * Returns the count and performance.now() of the poll that first saw it complete.
 */
export async function waitForMessages(
  vmail: string,
  users: readonly string[],
  expected: number,
  { pollMs = 20, stallMs = 60_000 } = {},
): Promise<{ count: number; at: number }> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const count = await countMessages(vmail, users);
    const at = performance.now();
    if (count >= expected) return { count, at };
    if (count !== last) {
      last = count;
      lastChange = at;
    } else if (at - lastChange > stallMs) {
      return { count, at };
    }
    await sleep(pollMs);
  }
}

/**
 * Mixed inbound SMTP traffic, shaped like what an MX sees, for long-running benchmarks:
 * `clients` concurrent senders, each opening connection after connection until the message
 * budget is spent. Per connection (seeded, so every run and every stack gets the same shapes):
 *   - half carry one message and close (most remote MTAs), half carry 2–40 messages on one
 *     session (a busy relay's queue run), MAIL+RCPT+DATA pipelined;
 *   - 95% end with QUIT, 5% just drop the connection after their last message;
 * and per message:
 *   - 88% one random local user, 10% two to five distinct users, 2% one unknown user (refused
 *     at RCPT: 550; the session goes on with RSET);
 *   - size log-uniform from 1 KB to 32 KB, 1% are 256 KB.
 * Clients connect from 127.0.0.1, in both servers' mynetworks, so no HELO/SPF/DKIM/DMARC checks
 * run (tsmail's mailauth is not exercised here).
 */
import { prng } from '../../test/helpers/prng.js';
import { SmtpClient } from './smtp-client.js';
import { DOMAIN, SENDER, USERS, message, userName } from './workload.js';

export interface TrafficResult {
  /** Transactions the plan asked for (including the ones meant to be refused). */
  messages: number;
  /** Transactions answered 250 after the dot. */
  accepted: number;
  /** Recipients of the accepted transactions: the Maildir files expected. */
  deliveries: number;
  /** Unknown-recipient transactions refused as they should be. */
  refusedAsExpected: number;
  /** Anything else that went wrong (unexpected refusals, dropped connections), and the first. */
  errors: number;
  firstError: string | null;
  connections: number;
  ms: number;
}

interface Shape {
  rcpts: string[];
  unknown: boolean;
  size: number;
}

const HELO = 'client.remote.example';

/** One seeded source of shapes shared by every client of a run (order = claim order). */
export class TrafficPlan {
  private readonly rand: () => number;
  private issued = 0;
  private sizes = new Map<number, Buffer>();

  constructor(seed: number) {
    this.rand = prng(seed);
  }

  /** How many messages the next connection carries. */
  connectionLength(): number {
    return this.rand() < 0.5 ? 1 : 2 + Math.floor(this.rand() * 39);
  }

  /** Whether a connection ends without QUIT. */
  drops(): boolean {
    return this.rand() < 0.05;
  }

  next(): Shape {
    this.issued++;
    const r = this.rand();
    let rcpts: string[];
    let unknown = false;
    if (r < 0.02) {
      rcpts = [`nosuchuser${this.issued}@${DOMAIN}`];
      unknown = true;
    } else if (r < 0.12) {
      const n = 2 + Math.floor(this.rand() * 4);
      const picked = new Set<number>();
      while (picked.size < n) picked.add(Math.floor(this.rand() * USERS));
      rcpts = [...picked].map(userName);
    } else {
      rcpts = [userName(Math.floor(this.rand() * USERS))];
    }
    const size = this.rand() < 0.01 ? 256 * 1024 : Math.round(1024 * Math.pow(32, this.rand()));
    return { rcpts, unknown, size };
  }

  /** A message of `size` bytes numbered `n` (one template per size, Message-ID patched). */
  body(n: number, size: number): Buffer {
    let template = this.sizes.get(size);
    if (!template) {
      template = message(0, size, 'footprint bench');
      this.sizes.set(size, template);
    }
    const b = Buffer.from(template);
    const at = b.indexOf('<0000000000.bench@') + 1;
    b.write(String(n).padStart(10, '0'), at, 'latin1');
    return b;
  }
}

/** Sends `count` messages over `clients` concurrent senders; message numbers start at `firstId`. */
export async function sendTraffic(port: number, plan: TrafficPlan, count: number, clients: number, firstId: number): Promise<TrafficResult> {
  const res: TrafficResult = { messages: 0, accepted: 0, deliveries: 0, refusedAsExpected: 0, errors: 0, firstError: null, connections: 0, ms: 0 };
  const fail = (why: string) => {
    res.errors++;
    res.firstError ??= why;
  };
  let next = 0;
  const t0 = performance.now();
  const sender = async () => {
    while (next < count) {
      if (res.errors > 100) throw new Error(`more than 100 errors; first: ${res.firstError}`);
      let conn: SmtpClient;
      try {
        conn = await SmtpClient.connect(port, { helo: HELO });
      } catch (err) {
        fail(`connect: ${(err as Error).message}`);
        continue;
      }
      res.connections++;
      const length = plan.connectionLength();
      const drop = plan.drops();
      try {
        for (let k = 0; k < length && next < count; k++) {
          const id = firstId + next++;
          const shape = plan.next();
          res.messages++;
          // Not pre-stuffed: a size that ends mid-line gets its CRLF added by the client's dot-stuffing.
          const r = await conn.send(SENDER, shape.rcpts, plan.body(id, shape.size));
          if (shape.unknown) {
            if (!r.ok && r.failure && r.failure.code >= 500) res.refusedAsExpected++;
            else fail(`unknown recipient not refused: ${r.failure?.text ?? 'accepted'}`);
          } else if (r.ok) {
            res.accepted++;
            res.deliveries += shape.rcpts.length;
          } else {
            fail(r.failure?.text ?? 'refused');
          }
        }
        if (drop) conn.destroy();
        else await conn.quit();
      } catch (err) {
        conn.destroy();
        fail((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, sender));
  res.ms = performance.now() - t0;
  return res;
}

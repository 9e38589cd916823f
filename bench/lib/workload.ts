/**
 * The benchmarks' mail: 100 passwd-file users `user000@example.test`…, seeded random recipients
 * (the same sequence for every server in a run) and fixed-size CRLF messages.
 */
import { prng } from '../../test/helpers/prng.js';

export const USERS = 100;
export const DOMAIN = 'example.test';
export const SENDER = 'sender@remote.example';

export const userName = (i: number): string => `user${String(i).padStart(3, '0')}@${DOMAIN}`;
export const allUsers = (): string[] => Array.from({ length: USERS }, (_, i) => userName(i));

/** Dovecot/tsmail passwd-file lines for the users (password "x", no uid: the config supplies it). */
export function passwdFile(): string {
  return allUsers().map((u) => `${u}:{PLAIN}x:::::`).join('\n') + '\n';
}

/** `messages` recipient lists of `perMessage` distinct random users each, from `seed`. */
export function recipientPlan(seed: number, messages: number, perMessage: number): string[][] {
  const rand = prng(seed);
  const plan: string[][] = [];
  for (let m = 0; m < messages; m++) {
    const pool = Array.from({ length: USERS }, (_, i) => i);
    const pick: string[] = [];
    for (let k = 0; k < perMessage; k++) {
      const j = k + Math.floor(rand() * (USERS - k));
      [pool[k], pool[j]] = [pool[j]!, pool[k]!];
      pick.push(userName(pool[k]!));
    }
    plan.push(pick);
  }
  return plan;
}

/**
 * A CRLF message of exactly `size` bytes (before the headers the server adds), numbered `n` in
 * its Message-ID. No line starts with ".", so dot-stuffing does not change its size.
 */
export function message(n: number, size: number, subject = 'bench'): Buffer {
  const head =
    `From: Bench Sender <${SENDER}>\r\nTo: undisclosed-recipients:;\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${String(n).padStart(10, '0')}.bench@remote.example>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again. 0123\r\n';
  const fill = Math.floor((size - head.length) / line.length);
  let body = fill > 0 ? line.repeat(fill) : '';
  const rest = size - head.length - body.length;
  if (rest > 0) body += rest >= 3 ? 'x'.repeat(rest - 2) + '\r\n' : 'xx'.slice(0, rest);
  const buf = Buffer.from(head + body, 'latin1');
  if (buf.length !== size) throw new Error(`message is ${buf.length} bytes, wanted ${size}`);
  return buf;
}

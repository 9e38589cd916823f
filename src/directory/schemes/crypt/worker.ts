import { parentPort } from 'node:worker_threads';
import { cryptSync } from './crypt.js';

/**
 * Worker-thread entry for pool.ts. Protocol: in `{ id, setting, password }`,
 * out `{ id, ok: true, value }` or `{ id, ok: false, error }` (a message, never the password).
 */
export interface CryptRequest {
  id: number;
  setting: string;
  /** The password's bytes (a Buffer arrives as a plain Uint8Array). */
  password: Uint8Array;
}
export type CryptResponse = { id: number; ok: true; value: string } | { id: number; ok: false; error: string };

const port = parentPort;
if (port === null) throw new Error('crypt worker must run in a worker thread');
port.on('message', (req: CryptRequest) => {
  let res: CryptResponse;
  try {
    res = { id: req.id, ok: true, value: cryptSync(req.setting, req.password) };
  } catch (err) {
    res = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(res);
});

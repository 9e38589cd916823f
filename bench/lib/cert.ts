/**
 * A self-signed certificate for a bench server's STARTTLS, of the kind tsmail generates for
 * itself when none is configured (src/daemon/tls.ts: EC P-256, SHA-256), so that both stacks
 * pay for the same signature algorithm in a full handshake.
 */
import { writeFile } from 'node:fs/promises';
import { generate } from 'selfsigned';

/** Writes the key and then the certificate into one PEM file (mode 0600) at `file`. */
export async function writeSelfSignedChain(file: string, hostname: string): Promise<void> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 86400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }, { type: 7, ip: '127.0.0.1' }] }],
  });
  await writeFile(file, `${pems.private.trim()}\n${pems.cert.trim()}\n`, { mode: 0o600 });
}

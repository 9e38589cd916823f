import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { constants } from 'node:crypto';
import tls from 'node:tls';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PrivilegedFileReader } from './privileged-reader.js';

/** Mozilla "intermediate": forward-secret AEAD suites only; TLS 1.3 suites are OpenSSL's defaults. */
export const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * What every TLS server socket of tsmail is built with (465 and STARTTLS alike). TLS 1.2 at
 * least (1.0/1.1 refused, as Postfix's smtpd_tls_protocols = >=TLSv1.2), and no renegotiation:
 * a client may ask for a new full handshake on an open TLS 1.2 connection as often as it likes,
 * each one costing the server far more than the client, all on the event loop; Node only logs an
 * error after 3 in 10 minutes and goes on. TLS 1.3 has no renegotiation at all, and mail clients
 * do not use it (nothing here asks for client certificates mid-session).
 */
export const TLS_SERVER_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: TLS_CIPHERS,
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const satisfies tls.SecureContextOptions;

export interface TlsPaths {
  cert: string;
  key: string;
  dataDir: string;
  hostname: string;
}

/**
 * The server certificate shared by every TLS listener. Listeners ask for `context()` per
 * handshake (through SNICallback), so `reload()` on SIGHUP takes effect for new connections
 * without restarting: what certbot's renewal hook needs.
 */
export class TlsCertificates {
  private current: tls.SecureContext | undefined;
  private options: tls.SecureContextOptions | undefined;
  private source = '';
  private readonly servers = new Set<{ setSecureContext(options: tls.SecureContextOptions): void }>();
  private privileged: PrivilegedFileReader | undefined;

  constructor(private readonly paths: TlsPaths, private readonly log: Logger) {}

  /** For STARTTLS: wrap an accepted socket with `new TLSSocket(s, { secureContext, isServer })`. */
  context(): tls.SecureContext {
    if (!this.current) throw new Error('TLS certificates not loaded');
    return this.current;
  }

  /** Options for an implicit-TLS server; `reload()` swaps the certificate of attached servers. */
  serverOptions(): tls.TlsOptions {
    if (!this.options) throw new Error('TLS certificates not loaded');
    return { ...this.options };
  }

  /** Servers created from serverOptions() get new certificates on reload (SIGHUP). */
  attach(server: { setSecureContext(options: tls.SecureContextOptions): void }): () => void {
    this.servers.add(server);
    return () => this.servers.delete(server);
  }

  describe(): string {
    return this.source;
  }

  /** Where a self-signed certificate is kept: data_dir/tls (tsmail's own, for the service account). */
  directories(): string[] {
    return this.paths.cert || this.paths.key ? [] : [path.join(this.paths.dataDir, 'tls')];
  }

  /**
   * Called as root just before the switch to `daemon.user`: from then on the configured
   * certificate and key are read through a reader that stays root (privileged-reader.ts), so a
   * SIGHUP after a renewal still loads a key only root may read. Only those two paths, fixed
   * now: the unprivileged process cannot ask for any other file. A self-signed certificate
   * needs none: its files in data_dir/tls belong to the service account.
   */
  keepPrivilegedAccess(): void {
    const { cert, key } = this.paths;
    if (cert && key && !this.privileged) this.privileged = PrivilegedFileReader.start([cert, key]);
  }

  /** Ends the privileged reader (shutdown). */
  close(): void {
    this.privileged?.close();
    this.privileged = undefined;
  }

  /** Loads (or reloads) the certificate; on error the previous one stays in use. */
  async reload(): Promise<void> {
    const { cert, key, source } = await this.read();
    const options: tls.SecureContextOptions = { cert, key, ...TLS_SERVER_OPTIONS };
    try {
      this.current = tls.createSecureContext(options);
    } catch (err) {
      throw new ConfigError(`TLS certificate/key from ${source} unusable: ${(err as Error).message}`);
    }
    this.options = options;
    this.source = source;
    for (const server of this.servers) server.setSecureContext(options);
    this.log.info({ tls: source }, 'TLS certificate loaded');
  }

  private async read(): Promise<{ cert: string; key: string; source: string }> {
    const { cert, key } = this.paths;
    if (cert || key) {
      if (!cert || !key) throw new ConfigError('tls.cert and tls.key must both be set (or both empty for a self-signed certificate)');
      if (this.privileged) {
        const files = await this.privileged.read().catch((err: Error) => {
          throw new ConfigError(`tls.cert/tls.key: ${err.message}`);
        });
        return { cert: files[0]!.toString('utf8'), key: files[1]!.toString('utf8'), source: cert };
      }
      const [c, k] = await Promise.all([readPem(cert, 'tls.cert'), readPem(key, 'tls.key')]);
      return { cert: c, key: k, source: cert };
    }
    return this.selfSigned();
  }

  /** Generated once into data_dir/tls and reused, so clients that pinned it keep working. */
  private async selfSigned(): Promise<{ cert: string; key: string; source: string }> {
    const dir = path.join(this.paths.dataDir, 'tls');
    const certFile = path.join(dir, 'selfsigned.crt');
    const keyFile = path.join(dir, 'selfsigned.key');
    try {
      const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
      return { cert, key, source: `${certFile} (self-signed)` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Loaded only here: selfsigned and its X.509 libraries are ~3 MB of heap (more RSS) that a
    // server reusing its certificate, or using a real one, never needs (bench/RESULTS.md, footprint).
    const { generate } = await import('selfsigned');
    const now = new Date();
    const pems = await generate([{ name: 'commonName', value: this.paths.hostname }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: now,
      notAfterDate: new Date(now.getTime() + 10 * 365 * 86400_000),
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: this.paths.hostname }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    // Key first, each via rename: a crash never leaves a certificate without its key.
    await writeFile(`${keyFile}.tmp`, pems.private, { mode: 0o600 });
    await rename(`${keyFile}.tmp`, keyFile);
    await writeFile(`${certFile}.tmp`, pems.cert, { mode: 0o644 });
    await rename(`${certFile}.tmp`, certFile);
    this.log.info({ cert: certFile }, 'generated a self-signed TLS certificate');
    return { cert: pems.cert, key: pems.private, source: `${certFile} (self-signed)` };
  }
}

async function readPem(file: string, key: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

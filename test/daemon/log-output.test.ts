import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseLogFormat } from '../../src/daemon/log-output.js';
import { cli } from '../helpers/cli.js';
import { freePorts, readGreeting, RunningTsmail, startTsmail } from '../helpers/daemon.js';
import { repoRoot, tempDir } from '../helpers/tmp.js';

/**
 * `log.format`: the real daemon on a pseudo-terminal (util-linux `script`, as a user's terminal
 * running `npm start`) and on a pipe (systemd/journald, `| jq`).
 */
const ANSI = /\x1b\[[0-9;]*m/;
const plain = (s: string) => s.replace(new RegExp(ANSI, 'g'), '').replace(/\r\n/g, '\n');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** An environment whose colour and format choices come from the test alone. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS', 'CI', 'TSMAIL_LOG_FORMAT']) delete env[k];
  return { ...env, TERM: 'xterm-256color', SHELL: '/bin/sh', ...extra };
}

/** `tsmail serve` with its stdout (and stdin) on a pseudo-terminal; stdin stays open for Ctrl-C. */
function serveOnTerminal(config: string, env: NodeJS.ProcessEnv = {}): RunningTsmail {
  // exec: the shell would otherwise also get the Ctrl-C and end with 130 after the daemon's clean exit.
  const command = 'exec ' + [process.execPath, '--import', 'tsx', path.join(repoRoot, 'src/main.ts'), 'serve', '--config', config].map(quote).join(' ');
  return new RunningTsmail(spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] }));
}

/**
 * `serve` adds its SIGINT/SIGTERM handlers in the same turn of the event loop as its "tsmail
 * started" line, so an SMTP greeting (answered in a later turn) proves they are there; a signal
 * before them would kill the process.
 */
async function untilSignalsHandled(smtpPort: number): Promise<void> {
  const socket = net.connect(smtpPort, '127.0.0.1');
  expect(await readGreeting(socket)).toMatch(/^220 /);
  socket.destroy();
}

/** Ctrl-C typed into the terminal: the line discipline sends SIGINT to the daemon. */
async function pressCtrlC(running: RunningTsmail, smtpPort: number): Promise<number | null> {
  await untilSignalsHandled(smtpPort);
  running.proc.stdin!.write('\x03');
  return running.exited;
}

describe('log output format', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let running: RunningTsmail | undefined;
  let ports: number[];

  async function writeConfig(extra = ''): Promise<string> {
    const file = path.join(dir, 'tsmail.toml');
    await writeFile(file, [
      'hostname = "mx.example.test"', 'data_dir = "data"',
      '[listen]', `smtp = "127.0.0.1:${ports[0]}"`, `lmtp = "127.0.0.1:${ports[1]}"`,
      ...['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'].map((n) => `${n} = ""`),
      '[directory]', 'domains = ["example.test"]', '[daemon]', 'shutdown_timeout = 5', extra, '',
    ].join('\n'));
    await mkdir(path.join(dir, 'data'), { recursive: true });
    await writeFile(path.join(dir, 'data/users'), 'alice@example.test:{PLAIN}secret-password:::::\n');
    return file;
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    ports = await freePorts(2);
  });
  afterEach(async () => {
    if (running && running.proc.exitCode === null) {
      running.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await cleanup();
  });

  it('prints readable, coloured lines on a terminal by default, with who logged it in front', async () => {
    running = serveOnTerminal(await writeConfig());
    await running.waitForLog(/tsmail started/);
    const nodemailer = (await import('nodemailer')).default;
    const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: ports[1], lmtp: true, name: 'postfix.local' } as never);
    await lmtp.sendMail({ envelope: { from: 'b@remote.example', to: ['alice@example.test'] }, raw: 'Subject: hi\r\n\r\nhi\r\n' });
    await running.waitForLog(/lmtp delivery/);
    expect(await pressCtrlC(running, ports[0]!)).toBe(0);

    expect(running.stdout).toMatch(ANSI);
    const lines = plain(running.stdout).split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    const listening = lines.find((l) => l.includes('listening for smtp'))!;
    expect(listening).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: smtp: listening for smtp \{"address":"127\.0\.0\.1:\d+","tls":"none"\}$/);
    expect(listening).toContain(`127.0.0.1:${ports[0]}`);
    const delivery = lines.find((l) => l.includes('lmtp delivery'))!;
    expect(delivery).toMatch(/^\[[\d:.]+\] INFO: lmtp \S+: lmtp delivery \{"ip":"127\.0\.0\.1","rcpt":"alice@example\.test","status":"delivered"\}$/);
    expect(lines.find((l) => l.includes('stop requested'))).toMatch(/INFO: stop requested \{"signal":"SIGINT"\}$/);
    // The last line is written before the process exits (the formatter is synchronous).
    expect(lines.at(-1)).toMatch(/^\[[\d:.]+\] INFO: tsmail stopped$/);
    expect(running.stdout).not.toContain('secret-password');
  });

  it('leaves colours out on a terminal when NO_COLOR is set', async () => {
    running = serveOnTerminal(await writeConfig(), { NO_COLOR: '1' });
    await running.waitForLog(/tsmail started/);
    expect(await pressCtrlC(running, ports[0]!)).toBe(0);
    expect(running.stdout).not.toMatch(ANSI);
    expect(running.stdout).toMatch(/\] INFO: smtp: listening for smtp /);
  });

  it.each([
    ['TSMAIL_LOG_FORMAT', '', { TSMAIL_LOG_FORMAT: 'json' }],
    ['log.format', '[log]\nformat = "json"', {}],
  ] as const)('writes JSON lines on a terminal when %s asks for them', async (_by, extra, env) => {
    running = serveOnTerminal(await writeConfig(extra), env);
    await running.waitForLog(/tsmail started/);
    expect(await pressCtrlC(running, ports[0]!)).toBe(0);
    const lines = plain(running.stdout).split('\n').filter((l) => l.startsWith('{'));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => r.msg === 'listening for smtp')).toMatchObject({ level: 30, listener: 'smtp', address: `127.0.0.1:${ports[0]}` });
    expect(records.at(-1)).toMatchObject({ msg: 'tsmail stopped' });
  });

  it('writes JSON lines to a pipe by default', async () => {
    running = startTsmail(['serve', '--config', await writeConfig()], { TSMAIL_LOG_FORMAT: '' });
    await running.waitForLog(/tsmail started/);
    await untilSignalsHandled(ports[0]!);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    const lines = running.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.at(-1)).toContain('"msg":"tsmail stopped"');
  });

  it('writes pretty lines without colour to a pipe when asked', async () => {
    running = startTsmail(['serve', '--config', await writeConfig('[log]\nformat = "pretty"')], { TSMAIL_LOG_FORMAT: '' });
    await running.waitForLog(/tsmail started/);
    await untilSignalsHandled(ports[0]!);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.stdout).not.toMatch(ANSI);
    expect(running.stdout).toMatch(/^\[[\d:.]+\] INFO: smtp: listening for smtp \{/m);
    expect(running.stdout).toMatch(/INFO: tsmail stopped\n$/);
  });

  it('refuses a bad TSMAIL_LOG_FORMAT, naming the variable', async () => {
    running = startTsmail(['serve', '--config', await writeConfig()], { TSMAIL_LOG_FORMAT: 'yaml' });
    expect(await running.exited).toBe(1);
    expect(running.stderr).toContain('TSMAIL_LOG_FORMAT: must be auto, json or pretty, not "yaml"');
  });

  it('shows log.format in config check and names it when the value is bad', async () => {
    const ok = await cli(['config', 'check', '--config', await writeConfig('[log]\nformat = "pretty"')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^\[log\]\nlevel = "info"\nformat = "pretty"$/m);
    const bad = await cli(['config', 'check', '--config', await writeConfig('[log]\nformat = "xml"')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/log\.format: .*"auto".*"json".*"pretty"/);
  });

  it.each([
    ['auto', undefined, true, 'pretty'],
    ['auto', undefined, false, 'json'],
    ['auto', '', true, 'pretty'],
    ['json', undefined, true, 'json'],
    ['pretty', undefined, false, 'pretty'],
    ['json', 'pretty', false, 'pretty'],
    ['pretty', 'json', true, 'json'],
    ['json', 'auto', true, 'pretty'],
  ] as const)('log.format %s with TSMAIL_LOG_FORMAT=%s on a terminal: %s → %s', (setting, env, terminal, expected) => {
    expect(chooseLogFormat(setting, env, terminal)).toBe(expected);
  });
});

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MaildirStore } from '../../src/mailstore/maildir/store.js';
import { parseUidlist } from '../../src/mailstore/maildir/uidlist.js';
import { readAll, spawnFixture } from '../helpers/child.js';
import { tempDir } from '../helpers/tmp.js';

function runChild(root: string, id: number, n: number): Promise<number[]> {
  return runFixture('appender.ts', [root, String(id), String(n)]).then((out) => JSON.parse(out) as number[]);
}

function runFixture(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnFixture(`test/mailstore/fixtures/${script}`, args, ['ignore', 'pipe', 'pipe']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

describe('several processes on one Maildir', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('appends and flags from 4 processes at once: unique UIDs, no lost update', async () => {
    const root = path.join(dir, 'shared');
    const results = await Promise.all([0, 1, 2, 3].map((id) => runChild(root, id, 25)));
    const all = results.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    const store = new MaildirStore({ log: silentLogger, specialUse: [] });
    const box = await store.openMailbox(root);
    const inbox = await box.open('INBOX');
    expect(inbox.messages()).toHaveLength(100);
    for (const [id, uids] of results.entries()) {
      for (const [i, uid] of uids.entries()) {
        const m = inbox.messages().find((x) => x.uid === uid)!;
        const text = (await readAll(await inbox.read(uid))).toString();
        expect(text).toContain(`Subject: p${id}-${i}\r\n`);
        expect(m.flags, `uid ${uid}`).toEqual(i % 2 === 0 ? ['\\Seen', `Proc${id}`] : []);
      }
    }
    const list = parseUidlist(await readFile(path.join(root, 'dovecot-uidlist'))).uidlist!;
    expect(list.records.map((r) => r.uid)).toEqual(all);
    const keywords = (await readFile(path.join(root, 'dovecot-keywords'), 'utf8')).split('\n').filter(Boolean);
    expect(keywords.map((l) => l.split(' ')[1]).sort()).toEqual(['Proc0', 'Proc1', 'Proc2', 'Proc3']);
    expect(keywords.map((l) => l.split(' ')[0]).sort()).toEqual(['0', '1', '2', '3']);
    await inbox.close();
    await box.close();
  }, 60_000);

  it('two processes flagging the same messages at once lose neither change', async () => {
    const root = path.join(dir, 'flags');
    const store = new MaildirStore({ log: silentLogger, specialUse: [] });
    const box = await store.openMailbox(root);
    for (let i = 0; i < 300; i++) await box.append('INBOX', Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`));
    // Three processes with the same (soon stale) view start flagging together.
    const children = ['\\Seen', '\\Flagged', 'Later'].map((flag) =>
      spawnFixture('test/mailstore/fixtures/flagger.ts', [root, flag], ['pipe', 'pipe', 'inherit']));
    await Promise.all(children.map((c) => new Promise((r) => c.stdout!.once('data', r))));
    for (const c of children) c.stdin!.write('go\n');
    expect(await Promise.all(children.map((c) => new Promise((r) => c.on('exit', r))))).toEqual([0, 0, 0]);
    const inbox = await box.open('INBOX');
    expect(inbox.messages()).toHaveLength(300);
    for (const m of inbox.messages()) expect([...m.flags].sort(), `uid ${m.uid}`).toEqual(['Later', '\\Flagged', '\\Seen']);
    await inbox.close();
    await box.close();
  }, 60_000);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';
import { decodeMutf7, encodeMutf7, isValidMutf7 } from '../../src/mailstore/maildir/mutf7.js';
import { expectInvalid } from '../helpers/expect.js';
import { prng } from '../helpers/prng.js';

/*
 * The tables below were made by Dovecot 2.3.19.1 (Debian 12 dovecot-core) with
 * `doveadm -c <ssl=no config> mailbox mutf7 -- NAME` (UTF-8 → mUTF-7) and `... mutf7 -7 -- NAME`
 * (mUTF-7 → UTF-8), so they need no Dovecot; where doveadm is on PATH the live tests re-check them
 * and compare random names too.
 */

/** [UTF-8, what doveadm encodes it to] */
const DOVEADM_ENCODED: readonly (readonly [string, string])[] = [
  ['', ''],
  ['INBOX', 'INBOX'],
  ['Sent', 'Sent'],
  ['Entwürfe', 'Entw&APw-rfe'],
  ['Ärger & Ölkanne', '&AMQ-rger &- &ANY-lkanne'],
  ['日本語', '&ZeVnLIqe-'],
  ['~peter/mail/日本語/台北', '~peter/mail/&ZeVnLIqe-/&U,BTFw-'], // the example in RFC 3501 5.1.3
  ['Привет', '&BB8EQAQ4BDIENQRC-'],
  ['العربية', '&BicGRAY5BjEGKAZKBik-'],
  ['Ω≈ç√', '&A6kiSADnIho-'],
  ['中文.子文件夹', '&Ti1lhw-.&W1Blh072WTk-'],
  ['😀', '&2D3eAA-'],
  ['👍🏽 Family', '&2D3cTdg83,0- Family'],
  ['𝄞', '&2DTdHg-'],
  ['\u{10000}', '&2ADcAA-'],
  ['\u{10FFFF}', '&2,,f,w-'],
  ['\uFFFD', '&,,0-'],
  ['\uFFFF', '&,,8-'],
  ['\u00A0', '&AKA-'],
  ['\u0080', '&AIA-'],
  ['\u007F', '&AH8-'],
  ['\u0001', '&AAE-'],
  ['tab\there', 'tab&AAk-here'],
  ['a\u0001b😀c', 'a&AAE-b&2D3eAA-c'],
  ['&', '&-'],
  ['&&', '&-&-'],
  ['&-', '&--'],
  ['a&b', 'a&-b'],
  ['ä&ö', '&AOQ-&-&APY-'],
  ['äö', '&AOQA9g-'],
  ['ä-ö', '&AOQ--&APY-'],
  ['ä-', '&AOQ--'],
  ['-', '-'],
  ['x~y', 'x~y'],
  ['~', '~'],
  ['e\u0301', 'e&AwE-'], // NFD stays NFD: no normalization
  ['\u00E9', '&AOk-'],
  ['Archive.2024', 'Archive.2024'],
  [' lead', ' lead'],
  ['trail ', 'trail '],
  ['+,/=', '+,/='],
];

/** [mUTF-7, what doveadm -7 decodes it to]: both Dovecot and tsmail accept these. */
const DOVEADM_DECODED: readonly (readonly [string, string])[] = [
  ['', ''],
  ['abc', 'abc'],
  ['&-', '&'],
  ['&-&-', '&&'],
  ['a&-b', 'a&b'],
  ['Entw&APw-rfe', 'Entwürfe'],
  ['&ZeVnLIqe-', '日本語'],
  ['&AOQA9g-', 'äö'],
  ['&AOQ-&-', 'ä&'],
  ['&AOQ-&-&APY-', 'ä&ö'],
  ['&AOQ-a&APY-', 'äaö'],
  ['&2D3eAA-', '😀'],
  ['&2D3eAQ-', '😁'],
  ['&2D3eAA-x', '😀x'],
  ['&AH8-', '\u007F'],
  ['&AAE-', '\u0001'],
  ['&ABA-', '\u0010'],
  ['&aoo-', '檊'], // lowercase letters are base64 digits 26-51, not a case variant of &AOO-
  ['&U,BTFw-', '台北'],
  ['&,,8-', '\uFFFF'],
  ['&2,,f,w-', '\u{10FFFF}'],
  ['~', '~'],
];

/** mUTF-7 that doveadm -7 rejects ("Mailbox name not valid mUTF-7"), and so do we. */
const DOVEADM_REJECTED: readonly string[] = [
  '&', // no run, no "-"
  'a&b',
  '&AOQ', // run never ends
  '&2D3eAA',
  '&&',
  '&AOQ-&APY-', // two adjacent runs: must be &AOQA9g-
  '&2D3eAA-&2D3eAA-',
  '&AAA-', // encoded NUL
  '&ACA-', // encoded " ": printable ASCII must be written directly
  '&AH4-', // encoded "~"
  '&ACY-', // encoded "&": must be "&-"
  '&AGE-', // encoded "a"
  '&AGEAYg-', // encoded "ab"
  '&2D0-', // lone high surrogate
  '&3gA-', // lone low surrogate
  '&AOQ,-', // 4 characters: 24 bits, an odd byte
  '&AOQ/-', // "/" is not in the alphabet ("," replaces it)
  '&AOQ=-', // no "=" padding
  '&A-', // 6 bits: not even one byte
  '&AB-', // 12 bits: one byte
  '&ABAA-', // 3 bytes
  '&AOQAAA-', // ä + NUL
  'a\tb', // raw control character
  '\u00E4', // raw non-ASCII
];

/**
 * Accepted by doveadm -7 (exit 0) but not canonical, so tsmail rejects them: [input, doveadm output].
 * Non-zero padding bits (imap-utf7.c never checks them) would give a second spelling of a name,
 * so `.&AOR-` and `.&AOQ-` could be two folders both called "ä". After a run Dovecot does not
 * re-check raw characters and silently cuts the name at the first bad one.
 */
const DOVEADM_LAX: readonly (readonly [string, string])[] = [
  ['&AOR-', 'ä'], // AOR = 0x00E4 + bits 01
  ['&2D3eAB-', '😀'],
  ['&aoq-', '檊'], // canonical: &aoo-
  ['&AOQ-\u00E4', 'ä'],
  ['&AOQ-a\tb', 'äa'],
];

const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧', '🇩🇪', '❤️', '🦄', '🏳️‍🌈', '𝄞', '\u{10000}', '\u{10FFFF}', '\u{1F9D1}\u{200D}\u{1F4BB}'];

/** A random Unicode string (no NUL, no lone surrogates): ASCII, `&`, `~`, `-`, controls, BMP, astral. */
function randomText(rnd: () => number, { controls = true } = {}): string {
  const len = Math.floor(rnd() * 16);
  let s = '';
  for (let i = 0; i < len; i++) {
    const k = rnd();
    if (k < 0.3) s += String.fromCharCode(0x20 + Math.floor(rnd() * 95));
    else if (k < 0.42) s += '&~-.'[Math.floor(rnd() * 4)];
    else if (k < 0.47 && controls) s += String.fromCharCode(1 + Math.floor(rnd() * 31));
    else if (k < 0.57) s += String.fromCharCode(0x7f + Math.floor(rnd() * 0x81));
    else if (k < 0.75) {
      let cp = 0x100 + Math.floor(rnd() * (0x10000 - 0x100));
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
      s += String.fromCodePoint(cp);
    } else if (k < 0.88) s += String.fromCodePoint(0x10000 + Math.floor(rnd() * 0x100000));
    else s += EMOJI[Math.floor(rnd() * EMOJI.length)];
  }
  return s;
}

/** Strings that look like mUTF-7: mostly valid pieces, sometimes broken ones. */
function randomMutf7ish(rnd: () => number): string {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
  const pieces = ['&', '-', '&-', 'a', '~', ' ', '/', '=', '\t', 'ä'];
  let s = '';
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const k = rnd();
    if (k < 0.4) s += encodeMutf7(randomText(rnd));
    else if (k < 0.7) {
      let run = '&';
      const m = Math.floor(rnd() * 10);
      for (let j = 0; j < m; j++) run += B64[Math.floor(rnd() * 64)];
      s += run + (rnd() < 0.9 ? '-' : '');
    } else s += pieces[Math.floor(rnd() * pieces.length)];
  }
  return s;
}

describe('modified UTF-7 against the doveadm tables', () => {
  it('encodes like doveadm', () => {
    for (const [utf8, mutf7] of DOVEADM_ENCODED) expect(encodeMutf7(utf8), JSON.stringify(utf8)).toBe(mutf7);
  });

  it('decodes like doveadm', () => {
    for (const [mutf7, utf8] of DOVEADM_DECODED) {
      expect(decodeMutf7(mutf7), mutf7).toBe(utf8);
      expect(isValidMutf7(mutf7)).toBe(true);
    }
    for (const [utf8, mutf7] of DOVEADM_ENCODED) expect(decodeMutf7(mutf7)).toBe(utf8);
  });

  it('rejects what doveadm rejects', () => {
    for (const bad of DOVEADM_REJECTED) {
      expect(isValidMutf7(bad), JSON.stringify(bad)).toBe(false);
      expect(expectInvalid(() => decodeMutf7(bad)).message).toMatch(/^invalid modified UTF-7: /);
    }
  });

  it('rejects the non-canonical spellings doveadm lets through', () => {
    for (const [lax] of DOVEADM_LAX) expect(isValidMutf7(lax), JSON.stringify(lax)).toBe(false);
  });
});

describe('strict decoding', () => {
  const cases: readonly (readonly [string, RegExp])[] = [
    ['&', /never ends/],
    ['x&AOQ', /never ends/],
    ['&AOQ-&APY-', /directly follows another/],
    ['&AAA-&AAA-', /directly follows another|NUL/],
    ['&AOQ-&2D3eAA-', /directly follows another/],
    ['&AGE-', /printable US-ASCII "a"/],
    ['&ACY-', /printable US-ASCII "&"/],
    ['&AH4-', /printable US-ASCII "~"/],
    ['&AC0-', /printable US-ASCII "-"/],
    ['&AOQAYQ-', /printable US-ASCII "a"/], // ä + a inside one run
    ['&AAA-', /NUL/],
    ['&AOR-', /padding bits/],
    ['&AOQA9h-', /padding bits/],
    ['&2D3eAB-', /padding bits/],
    ['&A-', /not a whole number/],
    ['&AB-', /not a whole number/],
    ['&AOQ,-', /not a whole number/],
    ['&AOQA9-', /not a whole number/],
    ['&AOQA9gA-', /not a whole number/], // 7 characters: an odd byte
    ['&AOQA9gAAA-', /not a whole number/], // 9 characters: one spare
    ['&AOQ/-', /alphabet/],
    ['&AOQ=-', /alphabet/],
    ['&A Q-', /alphabet/],
    ['&AOä-', /alphabet/],
    ['&2D0-', /unpaired surrogate/],
    ['&3gA-', /unpaired surrogate/],
    ['&2D3YPQ-', /unpaired surrogate/], // high + high
    ['&3gDYPQ-', /unpaired surrogate/], // low + high
    ['&2D0AIA-', /unpaired surrogate/], // high + U+0020 (also printable)
    ['a\tb', /U\+0009/],
    ['a\u007Fb', /U\+007F/],
    ['\u00E4', /U\+00E4/],
    ['a\nb', /U\+000A/],
    ['\u0000', /U\+0000/],
    ['😀', /U\+D83D/],
    ['&AOQ-\u00E4', /U\+00E4/],
  ];

  it('names the reason for every kind of bad input', () => {
    for (const [bad, reason] of cases) expect(expectInvalid(() => decodeMutf7(bad)).message, JSON.stringify(bad)).toMatch(reason);
  });

  it('checks every 3-character run (all 16-bit units) exhaustively', () => {
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
    let valid = 0;
    for (let a = 0; a < 64; a++) {
      for (let b = 0; b < 64; b++) {
        for (let c = 0; c < 64; c++) {
          const bits = (a << 12) | (b << 6) | c;
          const unit = bits >> 2;
          const expected =
            (bits & 3) === 0 && unit !== 0 && !(unit >= 0x20 && unit <= 0x7e) && !(unit >= 0xd800 && unit <= 0xdfff);
          const s = `&${B64[a]}${B64[b]}${B64[c]}-`;
          if (isValidMutf7(s) !== expected) throw new Error(`${s}: expected ${expected}`);
          if (expected) {
            valid++;
            if (decodeMutf7(s) !== String.fromCharCode(unit)) throw new Error(`${s} decoded wrongly`);
          }
        }
      }
    }
    // 65536 units - NUL - 95 printable - 2048 surrogates
    expect(valid).toBe(65536 - 1 - 95 - 2048);
  });
});

describe('encoding', () => {
  it('round-trips every BMP code point and writes only printable ASCII', () => {
    for (let cp = 1; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCharCode(cp);
      const enc = encodeMutf7(ch);
      if (!/^[\x20-\x7e]+$/.test(enc)) throw new Error(`U+${cp.toString(16)} → ${enc}`);
      if (cp >= 0x20 && cp <= 0x7e && cp !== 0x26 && enc !== ch) throw new Error(`U+${cp.toString(16)} must be literal`);
      if (decodeMutf7(enc) !== ch) throw new Error(`U+${cp.toString(16)} does not round-trip`);
    }
  });

  it('rejects NUL and unpaired surrogates', () => {
    expect(expectInvalid(() => encodeMutf7('a\u0000b')).message).toMatch(/NUL/);
    for (const bad of ['\uD83D', 'x\uD83Dy', '\uDE00', '\uDE00\uD83D', '😀\uD83D', 'a\uDBFF']) {
      expect(expectInvalid(() => encodeMutf7(bad)).message, JSON.stringify(bad)).toMatch(/unpaired UTF-16 surrogate/);
    }
  });

  it('round-trips 5000 random Unicode strings (astral, emoji, &, ~, controls)', () => {
    const rnd = prng(0x6d757466);
    for (let i = 0; i < 5000; i++) {
      const s = randomText(rnd);
      const enc = encodeMutf7(s);
      expect(enc).toMatch(/^[\x20-\x7e]*$/);
      expect(isValidMutf7(enc)).toBe(true);
      expect(decodeMutf7(enc), JSON.stringify(s)).toBe(s);
    }
  });

  it('accepts only canonical strings: whatever decodes, re-encodes to itself (20000 fuzz cases)', () => {
    const rnd = prng(42);
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      const s = randomMutf7ish(rnd);
      let decoded: string;
      try {
        decoded = decodeMutf7(s);
      } catch (err) {
        if (!(err instanceof InvalidInput)) throw err;
        continue;
      }
      accepted++;
      expect(encodeMutf7(decoded), JSON.stringify(s)).toBe(s);
    }
    expect(accepted).toBeGreaterThan(1000); // the generator must exercise both sides
  });
});

// ---- live comparison with the installed Dovecot ------------------------------------------------

function hasDoveadm(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v doveadm'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const DOVEADM = hasDoveadm();
const SKIP_REASON = 'SKIPPED: doveadm not found on PATH (install dovecot-core to run these)';
if (!DOVEADM) console.warn(`[mutf7.test] ${SKIP_REASON}`);

if (!DOVEADM && process.env.CI === 'true') {
  it('doveadm is installed in CI', () => {
    throw new Error('CI=true but doveadm is not on PATH: install dovecot-core');
  });
}

describe.skipIf(!DOVEADM)(DOVEADM ? 'live doveadm mailbox mutf7' : `live doveadm mailbox mutf7 (${SKIP_REASON})`, () => {
  let dir = '';
  let conf = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsmail-mutf7-'));
    conf = path.join(dir, 'dovecot.conf');
    writeFileSync(conf, 'ssl = no\nlog_path = /dev/stderr\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** doveadm's output lines, or null when it exits non-zero. */
  function doveadm(direction: '-7' | '-8', names: readonly string[]): string[] | null {
    try {
      const out = execFileSync('doveadm', ['-c', conf, 'mailbox', 'mutf7', direction, '--', ...names], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return out.replace(/\n$/, '').split('\n');
    } catch {
      return null;
    }
  }

  it('still produces the tables above', () => {
    expect(doveadm('-8', DOVEADM_ENCODED.map(([u]) => u))).toEqual(DOVEADM_ENCODED.map(([, m]) => m));
    for (const [m, u] of DOVEADM_DECODED) expect(doveadm('-7', [m]), m).toEqual([u]);
    for (const bad of DOVEADM_REJECTED) expect(doveadm('-7', [bad]), JSON.stringify(bad)).toBeNull();
    for (const [lax, out] of DOVEADM_LAX) expect(doveadm('-7', [lax]), JSON.stringify(lax)).toEqual([out]);
  });

  it('encodes 400 random names exactly like doveadm', () => {
    const rnd = prng(7);
    const names = Array.from({ length: 400 }, () => randomText(rnd));
    expect(doveadm('-8', names)).toEqual(names.map(encodeMutf7));
  });

  it('decodes like doveadm, which accepts everything tsmail accepts', () => {
    const rnd = prng(99);
    // Without control characters, so each decoded name is one output line.
    const valid = Array.from({ length: 300 }, () => encodeMutf7(randomText(rnd, { controls: false })));
    for (let i = 0; valid.length < 500 && i < 50000; i++) {
      const s = randomMutf7ish(rnd);
      if (isValidMutf7(s) && !/[\x00-\x1f\x7f]/.test(decodeMutf7(s))) valid.push(s);
    }
    expect(doveadm('-7', valid)).toEqual(valid.map(decodeMutf7));
  });
});

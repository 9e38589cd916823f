import { afterAll, describe, expect, it } from 'vitest';
import { PasswordHasher, SCHEMES } from '../../src/directory/schemes/index.js';
import { LONG_PASSWORD, hasCommand, tryRun } from './helpers.js';

/**
 * Interoperability with Dovecot itself. The constants were made by Dovecot 2.3.19.1
 * (Debian 12 dovecot-core) with `doveadm pw -s SCHEME -p PW` (extra flags noted), so these
 * tests need no Dovecot; where doveadm is installed, the live tests below also run.
 */
const UTF8 = 'pässwörd✓';
const ASCII = 'Tr0ub4dor&3';

const DOVEADM: readonly (readonly [string, string])[] = [
  [UTF8, '{SHA512-CRYPT}$6$uvSeJbxIL.liJkCz$w1SodqI97gATX9zgW1qtFLpEwc0GG0ilp6EN.3I8JJk6yjyfEqpnKmgEZyhY2Wlj69Juhs/ClgKeUoQM8vwn2/'],
  [UTF8, '{SHA256-CRYPT}$5$XN5lLIFkSPe.S0p3$6eNAUmgwVwgtvPjvfkgTDSReSBwBgvWs6cxq0npH0XD'],
  [UTF8, '{BLF-CRYPT}$2y$05$K8lvqYW5l67G944p1E9M1.IdRrdwe2g8k/vTt0dFsAzCrtUBCInD6'],
  [UTF8, '{MD5-CRYPT}$1$.P5JoJTF$/rXBkt.0bX8ILs81Btvf20'],
  [UTF8, '{SHA512}5QGx1mRNhxFObW+EoeqZqTrqiA5TmxU3rrFfrRjUQfz1zgKuIXre+lChsY7L1XL2SfxQyyJv8WsQ+l99JedONA=='],
  [UTF8, '{SSHA512}egBBuGnzJEfm7hhh/2UBsGh6VNqsM81GGknFId1WyD5z2mJYgG/dCfnhoxK0fFbf6dDViWh5oIVbEBaB1Fq5Ma/p3EQ='],
  [UTF8, '{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$8iDZnJjUBcC9sVQSXluHQQ$jpiPWDgsCGFjAAFP9MriI5KKY33j7TXBCj+Xx9WGREQ'],
  [UTF8, '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$yDmMU5vrWNY9BdNDJyx0Ug$hDfEfnRRLIAY4W+w00C9qUhwmkZaIJ9EPCtoL975REs'],
  [UTF8, '{PLAIN}pässwörd✓'],
  [ASCII, '{SHA512-CRYPT}$6$w23Ujj19coydrWqw$gOBR/D25NqbCGe4LyN0xshuA8VdlKuZ0EK8.9iFnpq4dwUf1IHK7/u.jHsmicoSXYkYDONHlf2hX6D31Lkgxa0'],
  [ASCII, '{SHA256-CRYPT}$5$kGgn5zTzs5QAwpC6$tYmdUApoacCtSmNxfK/DO/NrdpON0FrgDIbhYie/EBB'],
  [ASCII, '{BLF-CRYPT}$2y$05$Natq4Sfpm0D0rpVyCW.6Xu1epYUccYCY1sjq..USao1yR4DyNfSti'],
  [ASCII, '{MD5-CRYPT}$1$MlrEK7Mr$LuKHDFwEeNFmcZFHaM4KA1'],
  [ASCII, '{SHA512}xyu2IccEDPS2R0BjqaeXJpDiUvNa2+fPr/Wx7iMW7+c4LnI9QeATor+8M8MAfFDFhH0hqInM6DhTbqxyeAjeQA=='],
  [ASCII, '{SSHA512}vc1teiMrRnjdmGCIOZEdyk0GF1NLELcldmYajlBFwLXDv1/pU9G8rh0y7GgxtLG7yHt3UMMTZHA8uq4ND3sivZDzF9A='],
  [ASCII, '{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$yA6BJeII6KWTvbEky6hVHw$nyURn/MHH5YIJhsusrr1QBj5Ub3k/yusKgCpXlEXXRw'],
  [ASCII, '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$7XW8yZ4OKUk3bqv3mBOJTw$08j1fE/2LtwodHXfWWI3BrPBH6yevTaZuLzeRNnYkco'],
  [ASCII, '{PLAIN}Tr0ub4dor&3'],
  // Aliases and encodings: -s CRYPT, -s SHA512.HEX, -s SSHA512.HEX, -s SHA512.b64, -s SSHA512.b64, -s CLEAR
  [UTF8, '{CRYPT}$2y$05$g2GltECLuLtI3f.S3AmsgOAbx0tjAN4RZnsOJFLIHNZo5AvZliCu6'],
  [UTF8, '{SHA512.HEX}e501b1d6644d87114e6d6f84a1ea99a93aea880e539b1537aeb15fad18d441fcf5ce02ae217adefa50a1b18ecbd572f649fc50cb226ff16b10fa5f7d25e74e34'],
  [ASCII, '{SSHA512.HEX}1d3351114e812b5d13dfe6ec24d286355a5608ba80f32980ba14cd65b19bf1f445a526c0c6b0b0a31a1cd5e6407de1ac7b77c842bc6f6a262483a8d2e1cf34b39756d729'],
  [UTF8, '{SHA512.B64}5QGx1mRNhxFObW+EoeqZqTrqiA5TmxU3rrFfrRjUQfz1zgKuIXre+lChsY7L1XL2SfxQyyJv8WsQ+l99JedONA=='],
  [UTF8, '{SSHA512.B64}z1pYQfLwzN6IOqylmYB26mBtDvR6c67JubqHv0BK2eAFxR8t064a1oWjf1jw9RZl/mQsdC6xHOfOMIzir4Qp3Hy7pF4='],
  [ASCII, '{CLEAR}Tr0ub4dor&3'],
  // -r 10000 (SHA-crypt rounds) and -r 10 (bcrypt cost)
  [UTF8, '{SHA512-CRYPT}$6$rounds=10000$OoxJT0xH/gpn4XtB$P4enzCPePS./BkyzQHY6wv//EWVUQhpDaSbLzbWeDB5mWB3i3SJPQAEHZ1p9.Fm4pYPCxVr.p1poX/NTsbkQO0'],
  [UTF8, '{BLF-CRYPT}$2y$10$HyVyH397.K96UW1580wKzOGaAn9tyHgT3BoNnFYq4R3he0ytjHqqq'],
  // Empty password
  ['', '{SHA512-CRYPT}$6$WYAozMoqIR2epJVb$wLz.nJ0iQa3mRjxy9/dtD81q7SObb1704Lz0ESiW3SOVZunyhMmwHOBMT2BZzKU0DIYb3ypmukqKGmE4csszG/'],
  // 10 244-byte password. (doveadm's SHA-crypt gives "*0" there: libxcrypt refuses passphrases over 512 bytes.)
  [LONG_PASSWORD, '{BLF-CRYPT}$2y$05$H45Afby4Q.dTo/32m2CvZOSV2n8NE26jG2zUQUeNcAmTxxsY3dSGK'],
  [LONG_PASSWORD, '{MD5-CRYPT}$1$ZGaAU/.8$hU9ltPl5FT.16IVYeePhI.'],
  [LONG_PASSWORD, '{SHA512}yudkHzbj6fnLDj3fe4q5MyJZQXK04td7AbtBqqs5gD0ol+9aVyX4PofkXs9coYk2ua+Vgbl9mbXhk5jMVqIzvA=='],
  [LONG_PASSWORD, '{SSHA512}RMlwM1IF7+IRHpon8YTT9IouVHq1A/nkt/uUj767+sRZ8SXKFf3Up0gVJApA85t0nIeLvRfn1axxWlZgoYEUvVhgfMQ='],
  [LONG_PASSWORD, '{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$JzjAaNYii5Vt2XWIsHQZlg$u80Sjz7mfHEMl/O+2WG2eG1MLL8bYJWhqVrNPNBdHLY'],
  [LONG_PASSWORD, '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$1T5VQU/+8d4Hr49XUbUnjg$B5gUnAwPzSl1+BgICFztC+g12DuC60i7jaXkJ1JDYbo'],
];

describe('hashes made by doveadm pw (constants)', () => {
  const hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', cacheTtlMs: 0 });
  afterAll(() => hasher.close());

  it('cover every scheme', () => {
    const prefixes = new Set(DOVEADM.map(([, h]) => /^\{([^}]+)\}/.exec(h)![1]));
    for (const s of SCHEMES) expect(prefixes).toContain(s);
  });

  it('verify with the right password and not with a wrong one', async () => {
    for (const [password, stored] of DOVEADM) {
      expect(await hasher.verify(stored, password), stored).toBe(true);
      // Changed at the front: bcrypt ignores bytes after the 72nd, so a suffix would still match.
      expect(await hasher.verify(stored, `!${password}`), stored).toBe(false);
      expect(await hasher.verify(stored, password === UTF8 ? ASCII : UTF8), stored).toBe(false);
    }
  });
});

const DOVEADM_PRESENT = hasCommand('doveadm') && tryRun('doveadm', ['pw', '-s', 'PLAIN', '-p', 'x']) === '{PLAIN}x';
const SKIP_REASON = 'SKIPPED: doveadm not found on PATH (install dovecot-core to run these)';
if (!DOVEADM_PRESENT) console.warn(`[doveadm.test] ${SKIP_REASON}`);

describe.skipIf(!DOVEADM_PRESENT)(DOVEADM_PRESENT ? "live doveadm pw" : `live doveadm pw (${SKIP_REASON})`, () => {
  const hasher = new PasswordHasher({ defaultScheme: 'SHA512-CRYPT', workers: 2, cacheTtlMs: 0 });
  afterAll(() => hasher.close());
  const passwords = [UTF8, ASCII, 'ünïcødé ✓ 密码 with spaces', ''];

  it('doveadm pw -t accepts our hash() for every scheme', async () => {
    for (const scheme of SCHEMES) {
      for (const password of passwords) {
        const ours = await hasher.hash(password, scheme);
        const out = tryRun('doveadm', ['pw', '-t', ours, '-p', password]);
        expect(out, `${scheme} ${JSON.stringify(password)} ${ours}`).toMatch(/\(verified\)$/);
        // ...and rejects it for a wrong password (tryRun returns null on doveadm's non-zero exit).
        expect(tryRun('doveadm', ['pw', '-t', ours, '-p', `${password}x`]), scheme).toBeNull();
      }
    }
  });

  it('we verify fresh doveadm pw -s hashes for every scheme', async () => {
    for (const scheme of [...SCHEMES, 'CRYPT', 'CLEAR', 'SHA512.HEX', 'SSHA512.HEX', 'SHA512.b64']) {
      for (const password of passwords) {
        const stored = tryRun('doveadm', ['pw', '-s', scheme, '-p', password]);
        expect(stored, scheme).not.toBeNull();
        expect(await hasher.verify(stored!, password), `${scheme} ${stored}`).toBe(true);
        expect(await hasher.verify(stored!, `${password}x`), `${scheme} ${stored}`).toBe(false);
      }
    }
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cryptSync } from '../../src/directory/schemes/crypt/crypt.js';
import { hasCommand, tryRun } from './helpers.js';

/**
 * SHA-crypt and MD5-crypt against hashes made by other implementations. Each vector is
 * [password, stored hash]; cryptSync(stored, password) must reproduce the stored string.
 */
const MID = 'pässwörd✓'.repeat(38); // 494 bytes: several digest blocks, under libxcrypt's 512-byte limit

const VECTORS: Record<string, readonly (readonly [string, string])[]> = {
  // Ulrich Drepper's SHA-crypt specification, https://www.akkadia.org/drepper/SHA-crypt.txt
  'SHA-crypt specification': [
    ['Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
    ['Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
    ['Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ],
  // OpenSSL 3.0.19: openssl passwd -6 -salt r4nd0mS4lt16chrs PW / -5 -salt shortsalt / -1 -salt md5salt8
  openssl: [
    ['pässwörd✓', '$6$r4nd0mS4lt16chrs$hpKzmZwlRliWINENTdan1ia2CBhcMTFwVtubXvh0tOZD552gXUdnAnmc.7Y/9ZwX4I5jH4Wepg/niNwz.RWvJ0'],
    ['Tr0ub4dor&3', '$6$r4nd0mS4lt16chrs$wlGaobgKXGY4w5euckCeMYX4G36zVybjqzPmyYKojjt3dzvAfgwVGnnggiwAXe/PXE9WLcQP2q8R2kFZwB421.'],
    ['pässwörd✓', '$5$shortsalt$Fw1JM7iNuE2ash3/ASnbQSBfpc7FE5zBciAo.DPzin/'],
    ['Tr0ub4dor&3', '$5$shortsalt$DqMh9PSBEPWRbqH.FfgIvwTXAY1dDIlhTAgtWX.VHq2'],
    ['pässwörd✓', '$1$md5salt8$LoMsIwaGhqyV3.ZpMfRYZ1'],
    ['Tr0ub4dor&3', '$1$md5salt8$vli6Yq2HaTykBeyQSZHif0'],
  ],
  // Python 3.11 crypt.crypt(PW, SETTING) over Debian 12's libxcrypt
  'python crypt': [
    ['pässwörd✓', '$6$rounds=1000$minrounds$xUEVR433ccvkwEXrvfqSDuwtP0n1dl7nYpgtjkImU0BPC8gBAarsJMs2wdKA6H85GQnCvFuCTFBmQQoH2ebY11'],
    ['pässwörd✓', '$6$rounds=12345$pysalt$KvD2Mq6TPThjGskqsSDBvtV2qhPudXiIFtEJnM0H1lvpl/U0isd.nP5tcE54DjYRVhW31M5NSnunw.Kl7JLoy/'],
    ['Tr0ub4dor&3', '$6$rounds=12345$pysalt$uqyIiRcqE1EftsBpS236jDRnrsbqPjoin1zZZaYbjFEtNFFIo0aT9DUQeJz9RqPDjNIuqm6PmCcu9.mAD8BG61'],
    ['pässwörd✓', '$6$rounds=5000$explicit$QRQzXac2YKoragIVoJmMnR0h6UPEn2gFeaVIzN24DP0ZG0MyFxSgoc1QvDnMg4NBebE0PNj9cvSLGIY8w1u2L/'],
    ['pässwörd✓', '$5$rounds=77777$pysalt256$tR//JukqIAeefF8DdD9RS/RPnBilnVI90uQA8FIeaXC'],
    ['pässwörd✓', '$1$py$5qSwvG7czHDpPutm8FKlb1'],
    // crypt('pässwörd✓', '$6$0123456789abcdefXYZ'): the salt is cut to 16 characters
    ['pässwörd✓', '$6$0123456789abcdef$c9Y09w5V.KKWn24N9wSJQBXL0xY1af04vmZ4Fa6kcTmMAw9F1YRSixjmFm40K9xmRtwqeHawfbkBIbGqta6gS1'],
    ['x'.repeat(300), '$6$rounds=12345$pysalt$Z7M5KeTM2x/6ajChKE7lknBkA72Ca/fRHh/CylSSE5Z5I06DIDOI9Di3MC7ahj7xRnb/2.nvoYn/jely1wSQL1'],
    ['x'.repeat(300), '$5$rounds=77777$pysalt256$u8vNwrM.AO83SPeLw9r.uuVt5ELP2crfvoTMDj56kn.'],
    ['x'.repeat(300), '$1$py$HUYvaLKY902twiPzo29d90'],
    [MID, '$6$midlen$QBVLPSsOjellEPtGv2IYlNxD5ZgANJryBPJXCUN7KtoTGPwD4XB93TO/cTXqoSXfnh.RBUYaUnG7bKASytTBb1'],
    [MID, '$5$midlen$Ws2T9IvbyuRJv20M3FWy4H74WfcpQAtNsxy1c8AZDM6'],
    [MID, '$1$midlen$qCs8y.OZ21dC0W0vDIXyl.'],
    ['', '$6$empty$MWslJBrCvUsbDfvDkNQwBNtJFEGiZ5CHosSR8Ol/yMiSd9JINPGkSH4OfOOVEIp87YcT49Wr.Qp4a8bJCR6y2/'],
    ['', '$5$empty$3K9/D2YPFYWGxmrKN0aBSx.KoWwkHU6Pdzn3GnrLXz6'],
    ['', '$1$empty$dcN8YAzH./JGClDgyY17..'],
  ],
};

describe('crypt(3) algorithms', () => {
  for (const [source, vectors] of Object.entries(VECTORS)) {
    it(`reproduces ${source} hashes`, () => {
      for (const [password, stored] of vectors) expect(cryptSync(stored, password)).toBe(stored);
    });
  }

  it('takes the salt (and rounds) from a bare setting', () => {
    expect(cryptSync('$6$saltstring', 'Hello world!')).toBe(VECTORS['SHA-crypt specification']![0]![1]);
  });

  it('clamps rounds like glibc, so an out-of-range rounds= never reproduces the stored string', () => {
    expect(cryptSync('$6$rounds=10$roundstoolow', 'the minimum number is still observed')).toBe(
      // Drepper's specification, test vector 5
      '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
    );
  });

  it('is not apache $apr1$', () => {
    // openssl passwd -apr1 -salt md5salt8 'pässwörd✓'
    const apr1 = '$apr1$md5salt8$eLOPbD1Q9iyrCmNUvdTmS0';
    expect(() => cryptSync(apr1, 'pässwörd✓')).toThrow();
  });
});

const TOOLS_NOTE = 'tool missing: the constant vectors above still cover it';

describe.skipIf(!hasCommand('openssl'))(`live openssl passwd (${hasCommand('openssl') ? 'present' : TOOLS_NOTE})`, () => {
  it('agrees on fresh random salts and passwords', () => {
    for (const flag of ['-6', '-5', '-1']) {
      // No empty password here: openssl passwd prints `<NULL>` for it (python covers '').
      for (const password of ['pässwörd✓', randomBytes(12).toString('base64'), 'p'.repeat(100)]) {
        const salt = randomBytes(6).toString('base64').replace(/[+/=]/g, 'x');
        const stored = tryRun('openssl', ['passwd', flag, '-salt', salt, password]);
        expect(stored).not.toBeNull();
        expect(cryptSync(stored!, password)).toBe(stored);
      }
    }
  });
});

const PY = "import crypt,sys,warnings; print(crypt.crypt(sys.argv[1], sys.argv[2]))";
const hasPythonCrypt = tryRun('python3', ['-W', 'ignore', '-c', PY, 'x', '$1$probe']) !== null;

describe.skipIf(!hasPythonCrypt)(`live python3 crypt.crypt (${hasPythonCrypt ? 'present' : TOOLS_NOTE})`, () => {
  it('agrees on rounds= variants and non-ASCII passwords', () => {
    const settings = ['$6$', '$6$rounds=1000$', '$6$rounds=23456$', '$5$', '$5$rounds=4321$', '$1$'];
    for (const prefix of settings) {
      for (const password of ['pässwörd✓', 'ünïcødé ✓ 密码', 'a'.repeat(200)]) {
        const salt = randomBytes(12).toString('base64').replace(/[+=]/g, '.').slice(0, prefix === '$1$' ? 8 : 16);
        const stored = tryRun('python3', ['-W', 'ignore', '-c', PY, password, prefix + salt]);
        expect(stored).toMatch(/^\$/);
        expect(cryptSync(stored!, password)).toBe(stored);
      }
    }
  });
});

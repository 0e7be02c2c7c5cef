import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { chooseName, displayWidth, fitWidth, nameFromContentDisposition, nameFromUrl, sanitizeName } from '../../dist/cli/download/names.js';
import { parseContentRange, parseRetryAfter } from '../../dist/cli/download/http-answers.js';

it('Names are reduced to one safe file name: no directories, no .., no control characters.', () => {
  assert.equal(sanitizeName('../../etc/passwd'), 'passwd');
  assert.equal(sanitizeName('..\\..\\windows\\win.ini'), 'win.ini');
  assert.equal(sanitizeName('..'), undefined);
  assert.equal(sanitizeName('.'), undefined);
  assert.equal(sanitizeName('a/'), undefined);
  assert.equal(sanitizeName('evil\u0000name\n.txt'), 'evilname.txt');
  assert.equal(sanitizeName('what?.txt'), 'what_.txt');
  // A right-to-left override would show this as evilexe.png.
  assert.equal(sanitizeName('evil\u202egnp.exe'), 'evil_gnp.exe');
  assert.equal(sanitizeName('a\u2066b\u2069\u200fc.txt'), 'a_b__c.txt');
  assert.ok(Buffer.byteLength(sanitizeName('长'.repeat(200) + '.tar.gz')!) <= 245);
  assert.ok(sanitizeName('长'.repeat(200) + '.tar.gz')!.endsWith('.gz'));
  // A download's own files: never a saved file's name.
  assert.equal(sanitizeName('x.bin.part'), 'x.bin.part_');
  assert.equal(sanitizeName('x.bin.part.meta'), 'x.bin.part.meta_');
  assert.equal(sanitizeName('x.bin.PART.lock'), 'x.bin.PART.lock_');
  assert.equal(sanitizeName('x.partition'), 'x.partition');
});

it('A URL gives its last path segment, percent-decoded, or nothing for a bare host.', () => {
  assert.equal(nameFromUrl(new URL('http://h/files/Peking%20Hot.avi?x=1')), 'Peking Hot.avi');
  assert.equal(nameFromUrl(new URL('http://h/dir/')), 'dir');
  assert.equal(nameFromUrl(new URL('http://h/')), undefined);
  assert.equal(nameFromUrl(new URL('http://h/%2e%2e')), undefined);
  assert.equal(chooseName(new URL('http://h/'), new URL('http://h/'), undefined), 'index.html');
  assert.equal(chooseName(new URL('http://h/'), new URL('http://h/real.zip'), undefined), 'real.zip');
});

it('Content-Disposition names are read in both forms, preferring filename*.', () => {
  assert.equal(nameFromContentDisposition('attachment; filename="a b.pdf"'), 'a b.pdf');
  assert.equal(nameFromContentDisposition('attachment; filename=plain.txt; size=3'), 'plain.txt');
  assert.equal(nameFromContentDisposition(`attachment; filename="fallback.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf`), '报告.pdf');
  assert.equal(nameFromContentDisposition('attachment; filename="quoted \\"name\\".txt"'), 'quoted _name_.txt');
  assert.equal(nameFromContentDisposition('attachment; filename="/etc/../../x.sh"'), 'x.sh');
  assert.equal(nameFromContentDisposition(`attachment; filename="${Buffer.from('报告.pdf').toString('latin1')}"`), '报告.pdf');
  assert.equal(nameFromContentDisposition('inline'), undefined);
  assert.equal(nameFromContentDisposition(undefined), undefined);
});

it('Content-Range and Retry-After are parsed as the RFCs write them.', () => {
  assert.deepEqual(parseContentRange('bytes 100-199/200'), { start: 100, end: 199, total: 200 });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: null });
  assert.deepEqual(parseContentRange('bytes */200'), { start: -1, end: -1, total: 200 });
  assert.equal(parseContentRange('items 1-2/3'), undefined);
  assert.equal(parseRetryAfter('3'), 3000);
  const later = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())!;
  assert.ok(later > 55_000 && later <= 60_000);
  assert.equal(parseRetryAfter('soon'), undefined);
});

it('Terminal widths count CJK characters as two columns.', () => {
  assert.equal(displayWidth('Python从入门到住院.pdf'), 6 + 12 + 4);
  assert.equal(displayWidth(fitWidth('Python从入门到住院.pdf', 12)), 12);
  assert.equal(fitWidth('ab', 4), 'ab  ');
});

/**
 * Hostile input values shared by the bad-input corpora (issue #10): the
 * native /v1 corpus (hardening-corpus) and the SDK-compatibility one
 * (hardening-corpus-compat). Data only; each suite wraps them in its own
 * request shape. Lists that need image bytes take the fixtures as an
 * argument, since cases are collected before the fixtures are built.
 */
import sharp from 'sharp';
import { makeImage } from './images.ts';
import { blackPng, jpegWithSize, pngBomb, webpWithCanvas } from './hostile.ts';

export const MB = 1024 * 1024;
/** Nesting depth of the JSON bombs. */
export const DEPTH = 100_000;

/** `depth` copies of `open`, then `inner`, then `depth` copies of `close`. */
export const nested = (open: string, close: string, depth: number, inner = '') => open.repeat(depth) + inner + close.repeat(depth);

export type HostileImageName =
  | 'png' | 'jpeg' | 'webp' | 'gif' | 'animWebp' | 'animGif' | 'tiff' | 'px1' | 'px15' | 'px16' | 'ratio5' | 'ratio4' | 'wide20k'
  | 'svg' | 'html' | 'pdf' | 'zip' | 'jpegBomb' | 'webpBomb' | 'alphaWebp';
export type HostileImages = Record<HostileImageName, Buffer>;

/** Valid images (png 64x36, jpeg 64x36, webp 36x64, edge sizes) and files that only pretend to be images. */
export async function makeHostileImages(): Promise<HostileImages> {
  const solid = (c: string, w = 32, h = 32) => sharp({ create: { width: w, height: h, channels: 3, background: c } });
  const frames = await Promise.all(['#f00', '#0f0', '#00f'].map((c) => solid(c).png().toBuffer()));
  const jpeg = await makeImage(64, 36, 'jpeg');
  const alphaWebp = await sharp({ create: { width: 64, height: 36, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } }).webp().toBuffer();
  const img: HostileImages = {
    png: await makeImage(64, 36, 'png'),
    jpeg,
    webp: await makeImage(36, 64, 'webp'),
    gif: await solid('#f00').gif().toBuffer(),
    tiff: await solid('#0f0').tiff().toBuffer(),
    animWebp: await sharp(frames, { join: { animated: true } }).webp().toBuffer(),
    animGif: await sharp(frames, { join: { animated: true } }).gif().toBuffer(),
    px1: await solid('#fff', 1, 1).png().toBuffer(),
    px15: await solid('#fff', 15, 15).jpeg().toBuffer(),
    px16: await solid('#fff', 16, 16).png().toBuffer(),
    ratio5: await solid('#fff', 100, 20).png().toBuffer(),
    ratio4: await solid('#fff', 64, 16).png().toBuffer(),
    wide20k: blackPng(20_000, 5_000),
    svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="36"><rect width="64" height="36"/></svg>'),
    html: Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>'),
    pdf: Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF'),
    zip: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(26), Buffer.from('evil.php<?php system($_GET[0]); ?>')]),
    jpegBomb: jpegWithSize(jpeg, 60_000, 60_000),
    alphaWebp,
    webpBomb: webpWithCanvas(alphaWebp, 60_000, 60_000),
  };
  if ((await sharp(img.animWebp).metadata()).pages !== 3) throw new Error('the animated WebP fixture should have 3 frames');
  return img;
}

const b64 = (b: Buffer) => b.toString('base64');

/** Strings that are not a usable image (bad base64, bad data URIs, non-http schemes): each must be refused. */
export const badImageStrings: [string, (img: HostileImages) => string][] = [
  ['"!!!!"', () => '!!!!'], ['single character', () => 'a'], ['padding in the middle', () => 'ab=c'], ['only padding', () => '===='],
  ['whitespace only', () => ' \n\t '], ['NUL', () => '\u0000'], ['empty data URI', () => 'data:image/png;base64,'],
  ['data URI with garbage', () => 'data:image/png;base64,!!!'], ['data URI without ;base64', (i) => `data:image/png,${b64(i.png)}`],
  ['data URI with a charset parameter', (i) => `data:image/png;charset=utf-8;base64,${b64(i.png)}`],
  ['data URI of text/html', (i) => `data:text/html;base64,${b64(i.html)}`],
  ['five = of padding', (i) => `${b64(i.png)}=====`], ['emoji in base64', (i) => `iVBORw0KGgo🎬${b64(i.png)}`],
  ['percent-encoded base64', (i) => encodeURIComponent(b64(i.png))], ['base64 of "hello"', () => Buffer.from('hello').toString('base64')],
  ['PNG magic only', () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64')],
  ['10 MB of "A" (zeros)', () => 'A'.repeat(10 * MB)], ['javascript: URL', () => 'javascript:alert(1)'],
  ['scheme-relative URL', () => '//img.test/a.png'], ['https with one slash', () => 'https:/img.test/a.png'],
];

/** Bytes that are not an acceptable start image, whatever they are declared as (MIME type defaults to image/png). */
export const refusedImages: [string, (img: HostileImages) => Buffer, string?][] = [
  ['plain text declared image/png', () => Buffer.from('just some text, not a picture at all')],
  ['HTML declared image/png', (i) => i.html], ['SVG declared image/png', (i) => i.svg], ['PDF declared image/jpeg', (i) => i.pdf, 'image/jpeg'],
  ['ZIP declared image/png', (i) => i.zip], ['GIF declared image/png', (i) => i.gif], ['TIFF declared image/jpeg', (i) => i.tiff, 'image/jpeg'],
  ['polyglot: GIF with JavaScript appended (GIF+JS)', (i) => Buffer.concat([i.gif, Buffer.from('*/=1;alert(document.domain)//')])],
  ['polyglot: HTML with a PNG appended', (i) => Buffer.concat([i.html, i.png])],
  ['polyglot: ZIP with a PNG appended', (i) => Buffer.concat([i.zip, i.png])],
  ['truncated PNG: signature only', (i) => i.png.subarray(0, 8)], ['truncated PNG: header only', (i) => i.png.subarray(0, 33)],
  ['truncated PNG: half', (i) => i.png.subarray(0, i.png.length >> 1)], ['truncated PNG: last 20 bytes cut', (i) => i.png.subarray(0, i.png.length - 20)],
  ['truncated JPEG: half', (i) => i.jpeg.subarray(0, i.jpeg.length >> 1)], ['truncated JPEG: SOI only', (i) => i.jpeg.subarray(0, 2)],
  ['truncated WebP: half', (i) => i.webp.subarray(0, i.webp.length >> 1)], ['truncated WebP: RIFF header only', (i) => i.webp.subarray(0, 12)],
  ['animated WebP (3 frames)', (i) => i.animWebp], ['animated GIF declared image/webp', (i) => i.animGif, 'image/webp'],
  ['1x1 pixel', (i) => i.px1], ['15x15 JPEG', (i) => i.px15], ['5:1 aspect', (i) => i.ratio5],
  ['20000x5000 (within 4:1 but over the size limits)', (i) => i.wide20k],
  ['JPEG header claiming 60000x60000', (i) => i.jpegBomb], ['WebP canvas claiming 60000x60000', (i) => i.webpBomb],
  ['PNG header claiming 60000x60000', () => pngBomb(60_000, 60_000)],
];

/**
 * Unicode edge cases as JSON string literals, escapes written by hand so lone
 * surrogates survive (JSON.stringify would not produce them). Each passes the
 * prompt rules.
 */
export const unicodeLiterals: [string, string][] = [
  ['lone high surrogate', '"\\ud800"'], ['lone low surrogate', '"\\udc00"'], ['reversed pair', '"\\udc00\\ud800"'],
  ['RTL override', '"abc\\u202egnp.exe"'], ['NUL inside', '"a\\u0000b"'], ['only NUL', '"\\u0000"'],
  ['emoji ZWJ family', '"👨‍👩‍👧‍👦 walks"'], ['200 combining marks', `"e${'\\u0301'.repeat(200)}"`],
  ['noncharacters', '"\\uffff\\ufffe\\ud83f\\udfff"'], ['max code point', '"\\udbff\\udfff"'],
  ['zero-width joiners', '"a\\u200db\\u200cc\\u2060"'], ['control characters', '"\\u0001\\u001f\\u007f\\r\\n\\t"'],
];

/** Path segments for an id, written as sent on the wire (traversal, over-long, unicode, broken encodings). */
export const hostileIds: [string, string][] = [
  ['../../etc/passwd (raw)', '../../etc/passwd'], ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
  ['..%2F..%2Fadmin', '..%2F..%2Fadmin'], ['%2e%2e', '%2e%2e'], ['%252e%252e%252f (double-encoded)', '%252e%252e%252f'],
  ['10 000 characters', 'a'.repeat(10_000)], ['101 characters', `task_${'a'.repeat(96)}`], ['NUL', 'task_%00'],
  ['RTL override', encodeURIComponent('task_\u202eabc')], ['emoji', encodeURIComponent('task_🎬')], ['combining marks', encodeURIComponent(`task_e${'\u0301'.repeat(50)}`)],
  ['lone surrogate (UTF-8 of U+D800)', 'task_%ED%A0%80'], ['invalid UTF-8', 'task_%FF%FE'], ['bad percent-encoding', 'task_%E0%A4%A'],
  ["SQL injection ' OR '1'='1", encodeURIComponent("task_' OR '1'='1")], ['LIKE wildcards', 'task_%25'],
];

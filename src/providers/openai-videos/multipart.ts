import { randomBytes } from 'node:crypto';

export interface FilePart {
  filename: string;
  contentType: string;
  data: Buffer;
}

/**
 * A multipart/form-data body (RFC 7578), as the `openai` SDK's
 * `videos.create` sends it (UPSTREAM.md §0): text fields, then the file.
 * Built in memory: the one part of any size is the start image, already in memory.
 */
export function formData(fields: readonly (readonly [string, string])[], files: Readonly<Record<string, FilePart>> = {}): { body: Buffer; contentType: string } {
  const boundary = `----reelay${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  const quote = (v: string) => v.replace(/[\r\n"]/g, (c) => encodeURIComponent(c));
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`, 'utf8'));
  }
  for (const [name, f] of Object.entries(files)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"; filename="${quote(f.filename)}"\r\n`
      + `Content-Type: ${f.contentType}\r\n\r\n`, 'utf8'), f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

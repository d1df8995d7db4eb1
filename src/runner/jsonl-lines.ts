/**
 * Byte-level access to the lines of a JSONL file: a scan that visits every line with its byte
 * offset (read in 1 MiB chunks, so the file is never held whole), and a read of one line back
 * from its offset. The lazy dataset index (lazy-jsonl.ts) is built on these.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Where one line lies in the file: 1-based line number, byte offset and byte length (no newline). */
export interface LineSpan {
  lineNo: number;
  offset: number;
  bytes: number;
}

const CHUNK = 1 << 20;
const utf8 = new TextDecoder('utf-8');

/** Opens `file` for reading; the error names it as `dataset.path`. */
function openForRead(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    throw new Error(`dataset.path: cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

/**
 * Calls `visit(text, span)` for each line in order until it returns false. Lines may be CRLF
 * (the CR stays in `text`; callers trim). A last line without a newline is visited too.
 */
export function scanLines(file: string, visit: (text: string, span: LineSpan) => boolean): void {
  const fd = openForRead(file);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let lineStart = 0;
    let lineNo = 1;
    let pos = 0;
    const emit = (tail: Buffer): boolean => {
      const whole = pending.length ? Buffer.concat([...pending, tail]) : tail;
      const keepGoing = visit(utf8.decode(whole), { lineNo, offset: lineStart, bytes: whole.byteLength });
      pending = [];
      pendingBytes = 0;
      lineNo++;
      return keepGoing;
    };
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, 0, CHUNK, pos);
      } catch (e) {
        throw new Error(`dataset.path: cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? e})`);
      }
      if (got === 0) break;
      let from = 0;
      for (let nl = buf.indexOf(0x0a, 0); nl !== -1 && nl < got; nl = buf.indexOf(0x0a, from)) {
        if (!emit(buf.subarray(from, nl))) return;
        from = nl + 1;
        lineStart = pos + from;
      }
      if (from < got) {
        pending.push(Buffer.from(buf.subarray(from, got))); // copy: buf is reused by the next read
        pendingBytes += got - from;
      }
      pos += got;
    }
    if (pendingBytes > 0) emit(Buffer.alloc(0));
  } finally {
    closeSync(fd);
  }
}

/** Reads one line back by its span (the file must not have changed since the scan). */
export function readLine(file: string, span: LineSpan): string {
  const fd = openForRead(file);
  try {
    const buf = Buffer.allocUnsafe(span.bytes);
    let done = 0;
    while (done < span.bytes) {
      const got = readSync(fd, buf, done, span.bytes - done, span.offset + done);
      if (got === 0) throw new Error(`${file}:${span.lineNo}: the file is shorter than when it was indexed (changed during the run?)`);
      done += got;
    }
    return utf8.decode(buf);
  } finally {
    closeSync(fd);
  }
}

/** One sample line of an index: where it lies, its id and what its check kept (`info`). */
export interface IndexedLine<T = unknown> {
  id: string;
  span: LineSpan;
  info: T;
}

/**
 * Indexes the first `limit` sample lines of a JSONL file: blank lines and `//` comments are
 * skipped, every other line goes through `check` (which throws naming `where` = file:line),
 * ids must be unique. Holds one line's text at a time.
 */
export function indexSampleLines<T>(file: string, limit: number, check: (text: string, where: string) => { id: string; info: T }): IndexedLine<T>[] {
  const out: IndexedLine<T>[] = [];
  const firstLine = new Map<string, number>();
  if (limit > 0) {
    scanLines(file, (raw, span) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('//')) return true;
      const where = `${file}:${span.lineNo}`;
      const { id, info } = check(text, where);
      const seen = firstLine.get(id);
      if (seen !== undefined) throw new Error(`${where}: id "${id}" appears twice (first on line ${seen})`);
      firstLine.set(id, span.lineNo);
      out.push({ id, span, info });
      return out.length < limit;
    });
  }
  if (out.length === 0) throw new Error(`${file}: no samples`);
  return out;
}

/**
 * The entry rows of whole-log verification as PostgreSQL's binary COPY sends them
 * (store.entryCopyStatement): cut into chunks of whole rows on the reading thread, which only
 * walks the field lengths, and decoded on a verification worker into the very values the row
 * path (store.fetchEntryChunk through the driver) gives. Binary because every field is a length
 * and its bytes: nothing is escaped, so nothing needs unescaping. No database code here: the
 * workers load this module.
 *
 * Format (PostgreSQL "COPY … (FORMAT binary)"): an 11-byte signature, int32 flags, int32 length of
 * a header extension and the extension; then each row as int16 field count and, per field, int32
 * byte length (−1 for NULL) and the bytes; then int16 −1.
 */
import type { EntryRowText } from './store.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_FIXED = SIGNATURE.length + 8;

/** Columns of entryCopyStatement, in order. */
export const ENTRY_COPY_FIELDS = 10;

/** A run of whole rows of the COPY body (no header or trailer). */
export interface CopyChunk {
  bytes: Uint8Array;
  rows: number;
}

/**
 * Cuts the COPY byte stream into chunks of `chunkRows` whole rows (the last may be shorter). Each
 * chunk's bytes own their ArrayBuffer (from its start), so it can be transferred to a worker.
 * Bytes are copied about once: into the chunk buffer as they arrive, plus the row that straddles
 * a chunk boundary.
 */
export class CopyChunker {
  readonly #chunkRows: number;
  // allocUnsafeSlow: never a slice of Node's shared pool, whose ArrayBuffer must not be transferred.
  #buf = Buffer.allocUnsafeSlow(0);
  #fill = 0;
  /** Start of the next row not yet walked. */
  #scan = 0;
  #rows = 0;
  #headerDone = false;
  #ended = false;

  #next: number;

  /** `firstRows`: the first chunk's size, when the rows start inside a chunk of the tree (after an archive). */
  constructor(chunkRows: number, firstRows = chunkRows) {
    this.#chunkRows = chunkRows;
    this.#next = firstRows;
  }

  push(piece: Uint8Array): CopyChunk[] {
    if (this.#ended) {
      if (piece.length > 0) throw new Error('COPY data after its trailer');
      return [];
    }
    this.#append(piece);
    const out: CopyChunk[] = [];
    for (;;) {
      if (!this.#headerDone && !this.#header()) return out;
      const end = this.#rowEnd(this.#scan);
      if (end === null) return out;
      if (end === -1) {
        this.#ended = true;
        if (this.#scan + 2 !== this.#fill) throw new Error('COPY data after its trailer');
        return out;
      }
      this.#scan = end;
      if (++this.#rows === this.#next) {
        out.push(this.#cut());
        this.#next = this.#chunkRows;
      }
    }
  }

  /** The rows left (null if none); throws if the stream stopped before its trailer. */
  end(): CopyChunk | null {
    if (!this.#ended) throw new Error('COPY data ended before its trailer');
    return this.#rows > 0 ? this.#cut() : null;
  }

  #append(piece: Uint8Array): void {
    if (this.#fill + piece.length > this.#buf.length) {
      const grown = Buffer.allocUnsafeSlow(
        Math.max(2 * this.#buf.length, this.#fill + piece.length, 1 << 16),
      );
      grown.set(this.#buf.subarray(0, this.#fill));
      this.#buf = grown;
    }
    this.#buf.set(piece, this.#fill);
    this.#fill += piece.length;
  }

  /** Skips the header once it is all in; false while it is not. */
  #header(): boolean {
    if (this.#fill < HEADER_FIXED) return false;
    if (!this.#buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not binary COPY data');
    const extension = this.#buf.readInt32BE(SIGNATURE.length + 4);
    if (this.#fill < HEADER_FIXED + extension) return false;
    this.#headerDone = true;
    // The rows start at 0 of a buffer of their own, so a chunk is transferable from its start.
    const rest = Buffer.allocUnsafeSlow(Math.max(this.#buf.length, 1 << 16));
    this.#fill -= HEADER_FIXED + extension;
    rest.set(this.#buf.subarray(HEADER_FIXED + extension, HEADER_FIXED + extension + this.#fill));
    this.#buf = rest;
    return true;
  }

  /** Where the row at `at` ends; −1 for the trailer; null if it is not all in yet. */
  #rowEnd(at: number): number | null {
    const buf = this.#buf;
    if (at + 2 > this.#fill) return null;
    const fields = buf.readInt16BE(at);
    if (fields === -1) return -1;
    if (fields !== ENTRY_COPY_FIELDS) throw new Error(`COPY row with ${fields} fields`);
    let p = at + 2;
    for (let f = 0; f < fields; f++) {
      if (p + 4 > this.#fill) return null;
      const len = buf.readInt32BE(p);
      p += 4 + Math.max(len, 0);
    }
    return p <= this.#fill ? p : null;
  }

  #cut(): CopyChunk {
    const chunk = { bytes: this.#buf.subarray(0, this.#scan), rows: this.#rows };
    const rest = Buffer.allocUnsafeSlow(Math.max(this.#buf.length, 1 << 16));
    rest.set(this.#buf.subarray(this.#scan, this.#fill));
    this.#buf = rest;
    this.#fill -= this.#scan;
    this.#scan = 0;
    this.#rows = 0;
    return chunk;
  }
}

/** One decoded row: EntryRowText's values, the recorded hash as its bytes. */
export type CopiedEntryRow = Omit<EntryRowText, 'id' | 'seqKey' | 'leafHash'> & {
  leafHash: Uint8Array | null;
};

/**
 * The rows of a chunk, decoded as the driver decodes them on the row path: text as UTF-8 with the
 * same replacement of invalid bytes (Buffer#toString), int8 as Number(text) (db.ts's parser).
 */
export function decodeCopyChunk(bytes: Uint8Array, rows: number): CopiedEntryRow[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: CopiedEntryRow[] = new Array(rows);
  let p = 0;
  const field = (): [start: number, end: number] | null => {
    const len = buf.readInt32BE(p);
    p += 4;
    if (len < 0) return null;
    p += len;
    return [p - len, p];
  };
  const text = (): string | null => {
    const f = field();
    return f === null ? null : buf.toString('utf8', f[0], f[1]);
  };
  for (let i = 0; i < rows; i++) {
    const fields = buf.readInt16BE(p);
    if (fields !== ENTRY_COPY_FIELDS) throw new Error(`COPY row with ${fields} fields`);
    p += 2;
    const seq = text();
    const time = text();
    const actorId = text();
    const orgId = text();
    const action = text();
    const objectType = text();
    const objectId = text();
    const requestId = text();
    const details = text();
    const hash = field();
    out[i] = {
      // The query reads only rows with a seq; null would be a broken server, and reads as NaN.
      seq: seq === null ? Number.NaN : Number(seq),
      time: time as string,
      actorId,
      orgId,
      action: action as string,
      objectType: objectType as string,
      objectId,
      requestId,
      details,
      leafHash: hash === null ? null : buf.subarray(hash[0], hash[1]),
    };
  }
  if (p !== buf.length) throw new Error('COPY chunk longer than its rows');
  return out;
}

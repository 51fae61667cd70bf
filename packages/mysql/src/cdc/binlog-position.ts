import { OutboxError } from '@outboxkit/core';

/** A place in the binary log: the file and the byte offset of the next event to read. */
export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
}

/** `binlog.000002:645`, the form the reader's checkpoint positions take. */
export function formatPosition(at: BinlogPosition): string {
  return `${at.file}:${at.position}`;
}

export function parsePosition(text: string): BinlogPosition {
  const split = text.lastIndexOf(':');
  const position = Number(text.slice(split + 1));
  if (split <= 0 || !Number.isSafeInteger(position))
    throw new OutboxError('OUTBOX_BINLOG_POSITION', `${JSON.stringify(text)} is not a binlog position (file:offset)`);
  return { file: text.slice(0, split), position };
}

/** The number of a binlog file (`binlog.000002` -> 2): the server numbers them in the order it writes them. */
export function fileNumber(file: string): number {
  const match = /\.(\d+)$/.exec(file);
  return match ? Number(match[1]) : 0;
}

/** True when `a` is further along the binlog than `b`. */
export function isAfter(a: BinlogPosition, b: BinlogPosition): boolean {
  const byFile = fileNumber(a.file) - fileNumber(b.file);
  return byFile !== 0 ? byFile > 0 : a.position > b.position;
}

/** One increasing number per position (file number * 2^32 + offset), for the checkpoint gauge. */
export function positionOffset(at: BinlogPosition): number {
  return fileNumber(at.file) * 0x1_0000_0000 + at.position;
}

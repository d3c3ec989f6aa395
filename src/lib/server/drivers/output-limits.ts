// How much of a deploy's output a task's log keeps. Output arrives as byte chunks; a line longer than
// MAX_LINE_BYTES is cut (with a marker that says how much), and past HEAD_LINES lines only the last
// TAIL_LINES are kept, with one line that says how much was left out. Memory stays bounded whatever
// a deploy prints: one line buffer per stream and the tail ring, never the whole output.

import {HEAD_LINES, MAX_LINE_BYTES, TAIL_LINES} from '../../api/log-limits.js'

export type OutputStream = 'stdout' | 'stderr'

export interface OutputLine {
  stream: OutputStream | 'system'
  line: string
}

export interface OutputLimits {
  maxLineBytes: number
  headLines: number
  tailLines: number
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {maxLineBytes: MAX_LINE_BYTES, headLines: HEAD_LINES, tailLines: TAIL_LINES}

interface SplitLine {
  text: string
  /** what the line took in the output, newline included, before any cut */
  bytes: number
}

/** Splits one stream's chunks into lines, keeping at most maxBytes of each and counting the rest. */
class LineSplitter {
  private readonly buffer: Buffer
  private length = 0
  private cut = 0

  constructor(maxBytes: number) {
    this.buffer = Buffer.alloc(maxBytes)
  }

  push(chunk: Buffer, emit: (line: SplitLine) => void) {
    let start = 0
    for (;;) {
      const newline = chunk.indexOf(10, start)
      this.append(chunk, start, newline === -1 ? chunk.length : newline)
      if (newline === -1) return
      emit(this.take(1))
      start = newline + 1
    }
  }

  /** The last line, when the output did not end with a newline. */
  end(emit: (line: SplitLine) => void) {
    if (this.length > 0 || this.cut > 0) emit(this.take(0))
  }

  private append(chunk: Buffer, start: number, end: number) {
    const copied = Math.min(this.buffer.length - this.length, end - start)
    chunk.copy(this.buffer, this.length, start, start + copied)
    this.length += copied
    this.cut += end - start - copied
  }

  private take(newlineBytes: number): SplitLine {
    let text = this.buffer.toString('utf8', 0, this.length)
    if (text.endsWith('\r')) text = text.slice(0, -1)
    if (this.cut > 0) text += `… [cut ${this.cut} bytes]`
    const line = {text, bytes: this.length + this.cut + newlineBytes}
    this.length = 0
    this.cut = 0
    return line
  }
}

/** One task's output (stdout and stderr), with the head and tail rule applied across both. */
export class TaskOutput {
  private readonly splitters: Record<OutputStream, LineSplitter>
  private kept = 0
  private readonly tail: OutputLine[] = []
  private tailStart = 0
  private droppedLines = 0
  private droppedBytes = 0
  private readonly tailBytes: number[] = []

  constructor(private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS) {
    this.splitters = {stdout: new LineSplitter(limits.maxLineBytes), stderr: new LineSplitter(limits.maxLineBytes)}
  }

  /** Takes a chunk of a stream; returns the lines to log now (the head; the tail waits for end()). */
  push(stream: OutputStream, chunk: Buffer): OutputLine[] {
    const now: OutputLine[] = []
    this.splitters[stream].push(chunk, (line) => this.accept(stream, line, now))
    return now
  }

  /** The output has ended: the unfinished last lines, then what was left out and the tail. */
  end(): OutputLine[] {
    const now: OutputLine[] = []
    for (const stream of ['stdout', 'stderr'] as const) this.splitters[stream].end((line) => this.accept(stream, line, now))
    if (this.droppedLines > 0) {
      now.push({
        stream: 'system',
        line: `… ${this.droppedLines} line${this.droppedLines === 1 ? '' : 's'} (${formatBytes(this.droppedBytes)}) not kept: a task's log keeps its first ${this.limits.headLines} and last ${this.limits.tailLines} lines …`,
      })
    }
    now.push(...this.tail.slice(this.tailStart), ...this.tail.slice(0, this.tailStart))
    this.tail.length = 0
    return now
  }

  private accept(stream: OutputStream, line: SplitLine, now: OutputLine[]) {
    if (this.kept < this.limits.headLines) {
      this.kept++
      now.push({stream, line: line.text})
      return
    }
    if (this.limits.tailLines === 0) {
      this.drop(line.bytes)
      return
    }
    // A ring of the last tailLines lines: the oldest one is overwritten and counted as not kept.
    if (this.tail.length < this.limits.tailLines) {
      this.tail.push({stream, line: line.text})
      this.tailBytes.push(line.bytes)
      return
    }
    this.drop(this.tailBytes[this.tailStart])
    this.tail[this.tailStart] = {stream, line: line.text}
    this.tailBytes[this.tailStart] = line.bytes
    this.tailStart = (this.tailStart + 1) % this.limits.tailLines
  }

  private drop(bytes: number) {
    this.droppedLines++
    this.droppedBytes += bytes
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}

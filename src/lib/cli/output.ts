// Output for people and for CI: data on stdout, progress and warnings on stderr. Colour and spinners
// only on a terminal (NO_COLOR honoured); elsewhere one plain, timestamped line per change.
import type {ChalkInstance} from 'chalk'

import {printable} from './terminal-text.js'

/**
 * True when a spinner may draw on the stream: a terminal with a usable size, outside CI. A
 * pseudo-terminal of 0x0 (as some CI runners make) reports isTTY but has no room to draw in.
 */
export function interactive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !process.env.CI && usableSize(stream)
}

function usableSize(stream: NodeJS.WriteStream): boolean {
  return (stream.columns ?? 0) > 0 && (stream.rows ?? 0) > 0
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb'
}

let chalkInstance: ChalkInstance | undefined

export async function colors(): Promise<ChalkInstance> {
  if (!chalkInstance) {
    const {Chalk} = await import('chalk')
    chalkInstance = new Chalk({level: colorEnabled() ? 1 : 0})
  }
  return chalkInstance
}

export interface Column<T> {
  header: string
  get: (row: T) => string | number | boolean | null | undefined
}

/** A plain text table: padded columns, header in upper case, "-" for empty cells, control characters escaped. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => {
    const value = column.get(row)
    return value === null || value === undefined || value === '' ? '-' : printable(String(value))
  }))
  const headers = columns.map((column) => column.header.toUpperCase())
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => visibleLength(row[index]))))
  const line = (row: string[]) => row.map((cell, index) => (index === row.length - 1 ? cell : cell + ' '.repeat(widths[index] - visibleLength(cell)))).join('  ')
  return [line(headers), ...cells.map(line)].join('\n')
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[0-9;]*m/g, '').length
}

export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Relative time for people: "12s ago", "3m ago", "2h ago", else the date. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '-'
  const seconds = Math.round((now - Date.parse(iso)) / 1000)
  if (seconds < 60) return `${Math.max(0, seconds)}s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`
  if (seconds < 86_400) return `${Math.round(seconds / 3600)}h ago`
  return iso.slice(0, 10)
}

/**
 * Progress of a long job on stderr: a spinner on a terminal with a usable size, and in CI, when piped
 * or on a terminal without columns, one plain, timestamped line per state change. A terminal that
 * shrinks to nothing while the spinner runs turns it into plain lines.
 */
export class Progress {
  private spinner: {text: string; stop(): void; start(text?: string): void; clear(): void} | undefined
  private readonly onResize = () => {
    if (!usableSize(process.stderr)) this.stop()
  }

  static async create(text: string): Promise<Progress> {
    const progress = new Progress()
    if (interactive()) {
      const {default: ora} = await import('ora')
      progress.spinner = ora({text: printable(text), stream: process.stderr, discardStdin: false}).start()
      process.stderr.on('resize', progress.onResize)
    }
    return progress
  }

  /** A state change worth a line of its own. */
  event(text: string) {
    const line = printable(text)
    if (this.spinner) {
      this.spinner.clear()
      process.stderr.write(`${line}\n`)
      this.spinner.start()
    } else {
      process.stderr.write(`[${timestamp()}] ${line}\n`)
    }
  }

  /** The spinner's current text (terminal only). */
  status(text: string) {
    if (this.spinner) this.spinner.text = printable(text)
  }

  stop() {
    process.stderr.off('resize', this.onResize)
    this.spinner?.stop()
    this.spinner = undefined
  }
}

// A deploy's output is bounded on its way to the task log: a 200 MB line without a newline is cut at
// the line limit, a task keeps the head and the tail of a long log, the deploy itself succeeds, and
// the control plane's memory stays bounded while all of it passes through.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {HEAD_LINES, MAX_LINE_BYTES, TAIL_LINES} from '../../src/lib/api/log-limits.js'
import {copyFixture, isAlive, must, type Server, startServer} from './harness.js'

const SCOPE = ['-p', 'chatty', '-e', 'staging']
const LINE_BYTES = 200_000_000
const LINES = 20_000

let server: Server

beforeAll(async () => {
  server = await startServer()
  await must(['project', 'apply', '-f', copyFixture('chatty').file])
})

/** Peak resident memory of a process in MB, from /proc (VmHWM). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024
}

async function deploy(resource: string): Promise<{id: number; lines: {stream: string; line: string}[]}> {
  const triggered = await must(['release', 'trigger', '--resources', resource, ...SCOPE, '--wait', '--timeout', '120s', '--interval', '200ms', '--json'], {timeoutMs: 150_000})
  const release = triggered.json()
  expect(release.status, String(triggered)).toBe('succeeded')
  const logs = await must(['release', 'logs', String(release.id), '--task', resource, '--json'])
  return {id: release.id, lines: logs.json()}
}

describe('bounded deploy output', () => {
  it(`a ${LINE_BYTES / 1e6} MB line without a newline: the task succeeds, the line is cut with a marker, memory stays bounded`, async () => {
    const {lines} = await deploy('longline')
    const output = lines.filter((line) => line.stream === 'stdout').map((line) => line.line)
    expect(output).toEqual([`${'a'.repeat(MAX_LINE_BYTES)}… [cut ${LINE_BYTES - MAX_LINE_BYTES} bytes]`, 'long line written'])
    expect(isAlive(server.process.pid as number)).toBe(true)
    // Generous bounds: the point is that 200 MB never sat in either process's memory.
    expect(peakRssMb(server.process.pid as number)).toBeLessThan(300)
    expect(peakRssMb(Number(readFileSync(join(server.dataDir, 'supervisor.pid'), 'utf8')))).toBeLessThan(300)
  })

  it(`${LINES} lines: the task log keeps the first ${HEAD_LINES} and the last ${TAIL_LINES}, with a line saying how much was left out`, async () => {
    const {lines} = await deploy('manylines')
    const numbers = (from: number, to: number) => Array.from({length: to - from + 1}, (_, index) => String(from + index))
    const output = lines.filter((line) => line.stream === 'stdout').map((line) => line.line)
    // The script prints 1..LINES and a last line without a newline: LINES + 1 lines in all.
    const firstOfTail = LINES + 1 - TAIL_LINES + 1
    expect(output).toEqual([...numbers(1, HEAD_LINES), ...numbers(firstOfTail, LINES), 'last line without a newline'])
    const notKept = numbers(HEAD_LINES + 1, firstOfTail - 1)
    const bytes = notKept.reduce((sum, line) => sum + line.length + 1, 0)
    const marker = lines.findIndex((line) => line.stream === 'system' && line.line.startsWith('…'))
    expect(lines[marker].line).toBe(`… ${notKept.length} lines (${(bytes / 1024).toFixed(1)} KB) not kept: a task's log keeps its first ${HEAD_LINES} and last ${TAIL_LINES} lines …`)
    expect(lines[marker - 1].line).toBe(String(HEAD_LINES))
    expect(lines[marker + 1].line).toBe(String(firstOfTail))
  })
})

// The task log limits, on byte chunks as a deploy's pipes deliver them.
import {describe, expect, it} from 'vitest'

import {type OutputLine, TaskOutput} from '../../../../src/lib/server/drivers/output-limits.js'

const small = {maxLineBytes: 8, headLines: 3, tailLines: 2}

function feed(output: TaskOutput, chunks: [OutputLine['stream'] & ('stdout' | 'stderr'), string][]): OutputLine[] {
  const lines: OutputLine[] = []
  for (const [stream, text] of chunks) lines.push(...output.push(stream, Buffer.from(text)))
  return [...lines, ...output.end()]
}

describe('task output limits', () => {
  it('cuts a long line, across chunks, and says how many bytes were cut', () => {
    const lines = feed(new TaskOutput(small), [
      ['stdout', 'abcdefgh'],
      ['stdout', 'ijklmn\nshort\r\n'],
      ['stdout', 'tail without newline'],
    ])
    expect(lines).toEqual([
      {stream: 'stdout', line: 'abcdefgh… [cut 6 bytes]'},
      {stream: 'stdout', line: 'short'},
      {stream: 'stdout', line: 'tail wit… [cut 12 bytes]'},
    ])
  })

  it('keeps the first and the last lines of a task, with one line saying how much was left out', () => {
    const output = new TaskOutput(small)
    const now = output.push('stdout', Buffer.from('1\n2\n3\n4\n5\n'))
    expect(now.map((line) => line.line)).toEqual(['1', '2', '3'])
    now.push(...output.push('stderr', Buffer.from('err\n')))
    now.push(...output.push('stdout', Buffer.from('66\n7')))
    expect(now).toHaveLength(3) // the tail waits for the end
    expect(output.end()).toEqual([
      {stream: 'system', line: "… 3 lines (8 B) not kept: a task's log keeps its first 3 and last 2 lines …"},
      {stream: 'stdout', line: '66'},
      {stream: 'stdout', line: '7'},
    ])
  })

  it('keeps nothing past the head when the tail is zero, and everything under the cap', () => {
    expect(feed(new TaskOutput({...small, tailLines: 0}), [['stdout', 'a\nb\nc\nd\n']]).map((line) => line.line)).toEqual([
      'a',
      'b',
      'c',
      "… 1 line (2 B) not kept: a task's log keeps its first 3 and last 0 lines …",
    ])
    expect(feed(new TaskOutput(small), [['stdout', 'a\n'], ['stderr', 'b\n']])).toEqual([
      {stream: 'stdout', line: 'a'},
      {stream: 'stderr', line: 'b'},
    ])
  })
})

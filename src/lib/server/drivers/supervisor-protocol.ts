// The messages between the control plane and its deploy supervisor (over the fork IPC channel).
import type {OutputLine} from './output-limits.js'

export type ToSupervisor =
  /** start `/bin/sh -c command` in its own process group */
  | {type: 'spawn'; id: number; command: string; cwd: string; env: Record<string, string | undefined>}
  /** stop a task's process group: SIGTERM, then SIGKILL after the grace */
  | {type: 'stop'; id: number}

export type FromSupervisor =
  | {type: 'started'; id: number; pid: number}
  /** the lines of one chunk batch of output, already cut to the task's log limits */
  | {type: 'output'; id: number; lines: OutputLine[]}
  /** the shell ended and its process group was killed; error is set when it could not start */
  | {type: 'exit'; id: number; code: number | null; signal: string | null; error?: string}

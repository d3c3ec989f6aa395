// Shells started ahead of need, so that deploys that start together do not queue for their forks.
// Starting a process from Node blocks the event loop until the child has exec'd (about 1.5 ms from the
// supervisor's 55 MB on this kind of machine, more when the cores are busy), so the deploys of releases
// claimed together started one behind the other: in bench/parallel the last of a wave's claims waited
// 30 to 60 ms for its fork. A pooled shell is `/bin/sh -s`, already leading its own process group with
// its output piped, waiting on its stdin; a command is handed to it as a short script that enters the
// command's directory, sets exactly the command's environment and runs the command, as `/bin/sh -c
// COMMAND` spawned by the supervisor would have. The pool is refilled once no command has started for
// a moment (between waves, not during one), up to twice the most commands that started in one burst
// lately.
import {type ChildProcess, spawn} from 'node:child_process'
import {statSync} from 'node:fs'

/** the most shells kept ready */
export const MAX_POOL = 64
/** refill once no command has started for this long: a burst of starts is over (a wave's end spreads over a few hundred ms, with gaps) */
const QUIET_MS = 250
/** a name the shell can export; a command whose environment has another one is spawned directly */
const EXPORTABLE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A shell word that is exactly `value`: single quotes, each quote in it written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

/**
 * The script a pooled shell runs for a command: null when it cannot run the command exactly as a
 * direct spawn would (a variable name the shell cannot export). The shell runs the command itself
 * (`eval`, its stdin /dev/null), as `/bin/sh -c` would, without a second start of the shell. `cd`
 * sets and exports PWD, as a shell's start does, and OLDPWD, which a start does not: it is unset. A
 * PWD of the command's own environment is left to `cd`, as a shell's start replaces one that is not
 * its directory.
 */
export function handOffScript(command: string, cwd: string, env: Record<string, string | undefined>): string | null {
  const variables = Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[0] !== 'PWD')
  if (!variables.every(([name]) => EXPORTABLE.test(name))) return null
  return [
    `cd -- ${shellQuote(cwd)} || exit 127`,
    'unset OLDPWD',
    ...variables.map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    `eval ${shellQuote(command)} </dev/null`,
    '',
  ].join('\n')
}

export class ShellPool {
  private readonly idle: ChildProcess[] = []
  /** how many shells to keep ready: twice the most commands of one burst lately */
  private target = 0
  private burst = 0
  private quiet: NodeJS.Timeout | undefined
  private closed = false

  /**
   * A command running in a pooled shell, or null when none is ready or the command is one to spawn
   * directly (an environment the shell cannot reproduce, a directory that is not there: the direct
   * spawn reports that as it always did).
   */
  start(command: string, cwd: string, env: Record<string, string | undefined>): ChildProcess | null {
    this.counted()
    const script = handOffScript(command, cwd, env)
    if (script === null || !isDirectory(cwd)) return null
    let shell: ChildProcess | undefined
    while ((shell = this.idle.shift())) {
      if (shell.exitCode === null && shell.signalCode === null && shell.stdin?.writable) break
    }
    if (!shell) return null
    shell.stdin?.end(script)
    return shell
  }

  /** Stops the shells that wait (they would also end on their own with the supervisor: their stdin closes). */
  close(): void {
    this.closed = true
    clearTimeout(this.quiet)
    for (const shell of this.idle.splice(0)) shell.kill('SIGKILL')
  }

  /** A command starts: part of the current burst; the pool is refilled once the burst is over. */
  private counted(): void {
    this.burst++
    // Twice the largest burst: the next one may be bigger (releases move between replicas).
    this.target = Math.min(MAX_POOL, Math.max(this.target, 2 * this.burst))
    clearTimeout(this.quiet)
    this.quiet = setTimeout(() => {
      this.burst = 0
      this.refill()
    }, QUIET_MS)
    this.quiet.unref()
  }

  /** One shell at a time, each on its own turn of the event loop: a command that arrives meanwhile waits for one fork at most. */
  private refill(): void {
    if (this.closed || this.burst > 0 || this.idle.length >= this.target) return
    const shell = spawn('/bin/sh', ['-s'], {env: {}, detached: true, stdio: ['pipe', 'pipe', 'pipe']})
    // A shell that could not start, or ended while it waited, is dropped; the command then spawns directly.
    const drop = () => {
      const index = this.idle.indexOf(shell)
      if (index >= 0) this.idle.splice(index, 1)
    }
    shell.on('error', drop)
    shell.on('exit', drop)
    shell.stdin?.on('error', () => undefined)
    this.idle.push(shell)
    setImmediate(() => this.refill())
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

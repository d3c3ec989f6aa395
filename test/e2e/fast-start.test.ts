// bin/run.js answers --version and the root help without oclif (src/lib/cli/fast-start.ts): the bytes
// must be oclif's own, at any width, with and without colour, and oclif must answer when a theme could
// change them.
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {describe, expect, it} from 'vitest'

import {BIN, pool, ROOT, tempDir} from './harness.js'

interface Output {
  code: number | null
  stdout: string
  stderr: string
}

function run(nodeArgs: string[], env: Record<string, string | undefined>): Promise<Output> {
  const childEnv: NodeJS.ProcessEnv = {...process.env, ...env}
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (code) => resolve({code, stdout, stderr}))
  })
}

// oclif itself, as bin/run.js called it before the fast path.
const OCLIF = `const {execute} = await import('@oclif/core/execute'); await execute({dir: ${JSON.stringify(pathToFileURL(BIN).href)}, args: process.argv.slice(1)})`
const viaOclif = (args: string[], env: Record<string, string | undefined>) => run(['--input-type=module', '-e', OCLIF, '--', ...args], env)
const viaBin = (args: string[], env: Record<string, string | undefined>) => run([BIN, ...args], env)

const configDir = tempDir('relctl-fast-start-')
// NODE_ENV as a user has it: vitest sets it to "test", where oclif adds development warnings.
const plain = {RELCTL_CONFIG_DIR: configDir, NO_COLOR: '1', FORCE_COLOR: undefined, OCLIF_COLUMNS: undefined, DEBUG: undefined, NODE_ENV: undefined}
const coloured = {...plain, NO_COLOR: undefined, FORCE_COLOR: '1'}
const HELP = [[], ['--help'], ['help']]
const ANSWERED = [...HELP, ['--version']]

describe('--version and the root help without oclif', () => {
  it('print what oclif prints, at every width, with and without colour', async () => {
    const cases = [plain, coloured].flatMap((env) => [
      {args: ['--version'], env},
      ...HELP.flatMap((args) => ['', '40', '63', '120'].map((columns) => ({args, env: {...env, OCLIF_COLUMNS: columns || undefined}}))),
    ])
    const results = await pool(cases, 4, async ({args, env}) => ({args, env, fast: await viaBin(args, env), oclif: await viaOclif(args, env)}))
    for (const {args, env, fast, oclif} of results) {
      const label = `relctl ${args.join(' ')} (OCLIF_COLUMNS=${env.OCLIF_COLUMNS ?? ''} FORCE_COLOR=${env.FORCE_COLOR ?? ''})`
      expect(oclif.code, `${label}: oclif\n${oclif.stderr}`).toBe(0)
      expect({code: fast.code, stdout: fast.stdout, stderr: fast.stderr}, label).toEqual(oclif)
    }
    // the comparison covers wrapped rows and bold headers, not only the simplest output
    const narrow = results.find(({args, env}) => args[0] === '--help' && env.OCLIF_COLUMNS === '40' && env.FORCE_COLOR === '1')!
    expect(narrow.fast.stdout).toContain('\u001B[1mCOMMANDS')
    const commandLines = narrow.fast.stdout.split('COMMANDS')[1].trim().split('\n').map((line) => line.replaceAll(/\u001B\[\d+m/g, ''))
    expect(commandLines.filter((line) => line.length > 40)).toEqual([])
    expect(commandLines.filter((line) => /^ {4,}\S/.test(line)).length).toBeGreaterThan(5)
  })

  it('do not load oclif', async () => {
    const dir = tempDir('relctl-fast-start-probe-')
    const probe = join(dir, 'probe.cjs')
    // oclif's settings module creates globalThis.oclif when oclif loads, bundled or not.
    writeFileSync(probe, "process.on('exit', () => { if (globalThis.oclif) process.stderr.write('oclif was loaded') })\n")
    for (const args of ANSWERED) {
      expect(await run(['--require', probe, BIN, ...args], plain), `relctl ${args.join(' ')}`).toMatchObject({code: 0, stderr: ''})
    }
    // the probe sees oclif when it is loaded
    expect((await run(['--require', probe, BIN, 'help', 'app'], plain)).stderr).toBe('oclif was loaded')
  })

  it('leave the help to oclif when a user theme colours it', async () => {
    const themed = tempDir('relctl-fast-start-theme-')
    mkdirSync(themed, {recursive: true})
    writeFileSync(join(themed, 'theme.json'), JSON.stringify({sectionHeader: 'red'}))
    const env = {...coloured, RELCTL_CONFIG_DIR: themed}
    const fast = await viaBin(['--help'], env)
    expect(fast.stdout).toContain('\u001B[31m')
    expect(fast).toEqual(await viaOclif(['--help'], env))
  })
})

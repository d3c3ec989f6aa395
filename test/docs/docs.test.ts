// The docs as a contract: the generated command reference matches the commands, the README stays short,
// every link leads somewhere, and every flag the user docs name exists. Needs a build (npm test builds).
import {spawnSync} from 'node:child_process'
import {appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, normalize} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, describe, expect, it} from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const manifest = JSON.parse(read('oclif.manifest.json')) as {commands: Record<string, {flags: Record<string, {allowNo?: boolean}>}>}

// Pages that other branches write at the same time as this one; the links to them hold once merged.
const markdownFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  ...readdirSync(join(root, 'docs/commands')).map((name) => `docs/commands/${name}`),
]

/** Markdown outside fenced code blocks, line by line, with line numbers. */
function proseLines(text: string): Array<[number, string]> {
  let fenced = false
  const lines: Array<[number, string]> = []
  for (const [index, line] of text.split('\n').entries()) {
    if (line.startsWith('```')) fenced = !fenced
    else if (!fenced) lines.push([index + 1, line])
  }
  return lines
}

/** The anchors GitHub makes for a page's headings. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const [, line] of proseLines(text)) {
    const heading = /^#{1,6} (.*)$/.exec(line)
    if (!heading) continue
    const slug = heading[1].trim().toLowerCase().replaceAll(/[^\w\- ]/g, '').replaceAll(' ', '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

function runGenerator(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'scripts/docs-commands.mjs'), ...args], {cwd: root, encoding: 'utf8'})
}

describe('the generated command reference', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'relctl-docs-test-'))
  afterAll(() => rmSync(scratch, {recursive: true, force: true}))

  it('docs/commands is what the commands generate today', () => {
    const check = runGenerator('--check')
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
    expect(check.stdout).toContain('docs/commands matches the commands')
  })

  it('a reference that drifted fails the check, naming each page and the command to run', () => {
    const copy = join(scratch, 'commands')
    cpSync(join(root, 'docs/commands'), copy, {recursive: true})
    appendFileSync(join(copy, 'release.md'), 'a hand-written note\n')
    rmSync(join(copy, 'env.md'))
    appendFileSync(join(copy, 'deploy.md'), '# a page for a command that is gone\n')
    const check = runGenerator('--check', copy)
    expect(check.status).toBe(1)
    expect(check.stderr).toContain('differs: release.md')
    expect(check.stderr).toContain('missing: env.md')
    expect(check.stderr).toContain('not generated any more: deploy.md')
    expect(check.stderr).toContain('docs/commands is stale: run npm run docs:commands and commit it')
  })

  it('documents every command under its own heading, and the index links every topic page', () => {
    const pages = readdirSync(join(root, 'docs/commands')).map((name) => read(`docs/commands/${name}`)).join('\n')
    for (const id of Object.keys(manifest.commands)) {
      // A command's arguments follow its name: APPS, [ID], APP VERSION.
      expect(pages, id).toMatch(new RegExp(`^## \`relctl ${id.replaceAll(':', ' ')}( \\[?[A-Z]+\\]?)*\`$`, 'm'))
    }
    const index = read('docs/commands/README.md')
    for (const name of readdirSync(join(root, 'docs/commands')).filter((page) => page !== 'README.md')) {
      expect(index, name).toContain(`](./${name})`)
    }
  })
})

describe('README and docs/', () => {
  it('the README is at most 250 lines and starts with the two commands for a fresh clone', () => {
    const readme = read('README.md')
    expect(readme.split('\n').length).toBeLessThanOrEqual(250)
    const opening = readme.split('\n').slice(0, 4).join('\n')
    expect(opening).toContain('npm ci && npm run demo')
    expect(opening).toContain('npm ci && npm test')
  })

  it('every relative link leads to a file, and every anchor to a heading of that page', () => {
    const broken: string[] = []
    for (const file of markdownFiles) {
      for (const [number, line] of proseLines(read(file))) {
        for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/.test(target)) continue
          const [path, anchor] = target.split('#')
          const linked = path ? normalize(join(dirname(file), path)) : file
          if (!existsSync(join(root, linked))) broken.push(`${file}:${number}: ${target} (no such file)`)
          else if (anchor && linked.endsWith('.md') && !anchorsOf(read(linked)).has(anchor)) broken.push(`${file}:${number}: ${target} (no such heading)`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it('every --flag the user docs name is a flag of some command', () => {
    // npm's own flags, which the install page names beside relctl's.
    const flags = new Set(['help', 'global', 'prefix', 'prefer-offline', 'ignore-scripts', 'offline'])
    for (const command of Object.values(manifest.commands)) {
      for (const [name, flag] of Object.entries(command.flags)) {
        flags.add(name)
        if (flag.allowNo) flags.add(`no-${name}`)
      }
    }
    // development.md and architecture.md also name the benches' and unbuilt options.
    const userDocs = markdownFiles.filter((file) => !['docs/development.md', 'docs/architecture.md'].includes(file))
    const unknown: string[] = []
    for (const file of userDocs) {
      for (const [, flag] of read(file).matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)) {
        if (!flags.has(flag)) unknown.push(`${file}: --${flag}`)
      }
    }
    expect(unknown).toEqual([])
  })
})

// `relctl --version` and the root help (`relctl`, `relctl --help`, `relctl help`) answered from
// package.json and oclif.manifest.json without loading oclif, whose module graph costs more start-up
// than everything else these answers need (bench/startup.mjs). The output is oclif's, byte for byte:
// the same text through the same formatting packages (wrap-ansi, string-width, ansis, supports-color),
// resolved from oclif's own install; test/e2e/fast-start.test.ts compares both. Whenever oclif could
// answer differently (a plugin, hook, theme, help class, template, debug output), bin/run.js runs oclif.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {arch, homedir, platform, tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {format} from 'node:util'

interface Topic {
  name: string
  description?: string
  hidden?: boolean
  subtopics?: unknown
}

interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  hidden?: boolean
  aliases?: string[]
  hiddenAliases?: string[]
}

interface PackageJson {
  name: string
  version?: string
  description?: string
  oclif: Record<string, unknown> & {bin?: string; dirname?: string; description?: string; topics?: Record<string, Omit<Topic, 'name'>>}
}

type Answer = 'version' | 'root-help'

/**
 * The arguments answered here; anything else (extra flags, `help release`) goes to oclif. Not the
 * `version` command: oclif warns there, outside production, that it did not parse its arguments.
 */
const ANSWERS: Record<string, Answer> = {'--version': 'version', '--help': 'root-help', help: 'root-help'}

// package.json "oclif" settings that change the version or the root help; with any of them set, oclif answers.
const OCLIF_SETTINGS_NOT_MODELLED = ['plugins', 'devPlugins', 'jitPlugins', 'additionalHelpFlags', 'additionalVersionFlags', 'helpClass', 'helpOptions', 'theme', 'state', 'flexibleTaxonomy', 'default', 'isSingleCommandCLI']

const root = new URL('../../../', import.meta.url)

/** Writes the answer for argv and returns true, or returns false when oclif must answer. */
export async function answerWithoutOclif(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const answer = argv.length === 0 ? 'root-help' : argv.length === 1 ? ANSWERS[argv[0]] : undefined
  if (!answer || env.DEBUG) return false
  const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson
  const bin = pjson.oclif.bin ?? pjson.name
  if (env[scopedEnvVar(bin, 'DEBUG')] || OCLIF_SETTINGS_NOT_MODELLED.some((key) => key in pjson.oclif)) return false
  const hooks = (pjson.oclif.hooks ?? {}) as Record<string, unknown>
  // --version and the root help run the init and finally hooks; `relctl help` also prerun and postrun.
  if (['init', 'finally', 'prerun', 'postrun'].some((event) => hooks[event])) return false
  const require = createRequire(import.meta.resolve('@oclif/core/execute'))
  const userAgent = `${pjson.name}/${pjson.version ?? '0.0.0'} ${await platformName(require)}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
  if (answer === 'version') {
    console.log(format(userAgent))
    return true
  }
  if (existsSync(join(oclifDir('config', pjson, env), 'theme.json'))) return false
  const manifest = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8')) as {commands: Record<string, ManifestCommand>}
  const help = rootHelp(pjson, Object.values(manifest.commands), bin, userAgent, require)
  if (help === undefined) return false
  console.log(format(help))
  return true
}

/** oclif's platform: "wsl" inside the Windows Subsystem for Linux, else Node's. */
async function platformName(require: NodeJS.Require): Promise<string> {
  if (platform() !== 'linux') return platform()
  const {isWsl} = (await import(pathToFileURL(require.resolve('wsl-utils')).href)) as {isWsl: boolean}
  return isWsl ? 'wsl' : platform()
}

/** The environment variable oclif reads for a setting of this CLI: RELCTL_CONFIG_DIR, RELCTL_DEBUG. */
function scopedEnvVar(bin: string, key: string): string {
  return [bin, key].map((part) => part.replaceAll('@', '').replaceAll(/[/-]/g, '_')).join('_').toUpperCase()
}

/**
 * A directory of this CLI as oclif's Config names it: RELCTL_CONFIG_DIR or RELCTL_CACHE_DIR, else the
 * platform's. oclif reads a user's theme.json from the config dir; the cache dir holds the bundle's
 * code cache (bundle.ts).
 */
export function oclifDir(category: 'config' | 'cache', pjson: Pick<PackageJson, 'name' | 'oclif'>, env: NodeJS.ProcessEnv = process.env): string {
  const bin = pjson.oclif.bin ?? pjson.name
  const dirname = pjson.oclif.dirname ?? pjson.name
  const scoped = env[scopedEnvVar(bin, `${category.toUpperCase()}_DIR`)]
  if (scoped) return scoped
  const windows = platform() === 'win32'
  const home = env.HOME || (windows && (env.HOMEDRIVE && env.HOMEPATH ? join(env.HOMEDRIVE, env.HOMEPATH) : env.USERPROFILE)) || homedir() || tmpdir()
  if (category === 'cache' && platform() === 'darwin') return join(home, 'Library', 'Caches', dirname)
  return join(env[`XDG_${category.toUpperCase()}_HOME`] || (windows && env.LOCALAPPDATA) || join(home, `.${category}`), dirname)
}

type Row = [left: string, right: string | undefined]

interface Formatting {
  wrapAnsi: (text: string, columns: number, options: {hard: boolean}) => string
  stringWidth: (text: string) => number
  widestLine: (text: string) => number
  indentString: (text: string, count: number) => string
  ansis: {strip: (text: string) => string; bold: (text: string) => string}
  supportsColor: {stdout: unknown; stderr: unknown}
}

/**
 * The text oclif's Help.showRootHelp prints (help/index.js, help/root.js, help/formatter.js of
 * @oclif/core 4), or undefined when the manifest uses something modelled only there (aliases, nested
 * topics, EJS templates).
 */
function rootHelp(pjson: PackageJson, manifestCommands: ManifestCommand[], bin: string, userAgent: string, require: NodeJS.Require): string | undefined {
  const description = pjson.oclif.description || pjson.description || ''
  const pjsonTopics = Object.entries(pjson.oclif.topics ?? {}).map(([name, topic]) => ({...topic, name}))
  const texts = [description, ...pjsonTopics.map((topic) => topic.description ?? ''), ...manifestCommands.flatMap((command) => [command.summary ?? '', command.description ?? ''])]
  if (texts.some((text) => text.includes('<%'))) return undefined
  if (pjsonTopics.some((topic) => topic.subtopics)) return undefined
  if (manifestCommands.some((command) => command.aliases?.length || command.hiddenAliases?.length)) return undefined

  const f: Formatting = {
    wrapAnsi: require('wrap-ansi'),
    stringWidth: require('string-width'),
    widestLine: require('widest-line'),
    indentString: require('indent-string'),
    ansis: require('ansis'),
    supportsColor: require('supports-color'),
  }
  const maxWidth = Number.parseInt(process.env.OCLIF_COLUMNS ?? '', 10) || termWidth(process.stdout)
  const wrap = (text: string, spacing = 2) => f.wrapAnsi(text, maxWidth - spacing, {hard: true})
  const indent = (text: string, spacing = 2) => f.indentString(text, spacing)
  const bold = (text: string) => (f.supportsColor.stdout && f.supportsColor.stderr ? f.ansis.bold(text) : text)
  const section = (header: string, body: string) => [bold(header), indent(body)].join('\n')
  const list = (rows: Row[]) => renderList(rows, f, wrap, indent)

  // Config.loadTopics: the package.json topics, then one per prefix of every visible command's id.
  const topics = new Map<string, Topic>(pjsonTopics.map((topic) => [topic.name, topic]))
  const commands = new Map(manifestCommands.map((command) => [command.id, command]))
  for (const command of commands.values()) {
    if (command.hidden) continue
    for (let parts = command.id.split(':'); parts.length > 0; parts.pop()) {
      const name = parts.join(':')
      if (name && !topics.has(name)) topics.set(name, {name, description: command.summary || command.description})
    }
  }
  const allTopics = [...topics.values()]
  const rootTopics = sortBy(allTopics.filter((topic) => allTopics.some((other) => other.name.includes(`${topic.name}:`)) && !topic.hidden), (topic) => topic.name)
    .filter((topic) => !topic.name.includes(':'))
  const rootCommands = sortBy([...commands.values()].filter((command) => !command.hidden), (command) => command.id)
    .filter((command) => command.id && !command.id.includes(':'))

  const firstLine = (text: string) => text.split('\n')[0]
  const rest = description.split('\n').slice(1).join('\n')
  const output = [
    [firstLine(description), section('VERSION', wrap(userAgent)), section('USAGE', wrap(`$ ${bin} [COMMAND]`)), rest && section('DESCRIPTION', wrap(rest))].filter(Boolean).join('\n\n'),
    '',
  ]
  if (rootTopics.length > 0) output.push(section('TOPICS', list(rootTopics.map((topic) => [topic.name, topic.description && firstLine(topic.description)]))), '')
  if (rootCommands.length > 0) {
    const summary = (command: ManifestCommand) => (command.summary ? firstLine(command.summary) : command.description && firstLine(command.description))
    output.push(section('COMMANDS', list(rootCommands.map((command) => [command.id, summary(command) && f.ansis.strip(summary(command)!)]))), '')
  }
  return output.join('\n')
}

/** oclif's screen width: the terminal's, at least 40, or 80 when stdout is not a terminal. */
function termWidth(stream: NodeJS.WriteStream): number {
  if (!stream.isTTY) return 80
  const width = stream.getWindowSize()[0]
  return width < 1 ? 80 : Math.max(width, 40)
}

/** oclif's sortBy: a stable sort with < and >. */
function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** HelpFormatter.renderList with indentation 2 and spacer "\n", as the root help calls it. */
function renderList(rows: Row[], f: Formatting, wrap: (text: string, spacing?: number) => string, indent: (text: string, spacing?: number) => string): string {
  if (rows.length === 0) return ''
  const indentation = 2
  const renderMultiline = () => {
    let output = ''
    for (const [left, right] of rows) {
      if (!left && !right) continue
      if (left) output += wrap(left.trim(), indentation)
      if (right) output += `\n${indent(wrap(right.trim(), indentation + 2), 4)}`
      output += '\n\n'
    }
    return output.trim()
  }
  const maxLength = f.widestLine(rows.map((row) => row[0]).join('\n'))
  let output = ''
  let current = ''
  for (const [left, right] of rows) {
    if (current) output += `\n${current}`
    current = left || ''
    if (!right) {
      current = current.trim()
      continue
    }
    const [first, ...lines] = wrap(right.trim(), indentation + maxLength + 2).split('\n').map((line) => line.trim())
    current += ' '.repeat(maxLength - f.stringWidth(current) + 2)
    current += first
    if (lines.length === 0) continue
    // oclif switches to one row per line when a summary wraps to more than five lines
    if (lines.length > 4) return renderMultiline()
    current += `\n${indent(lines.join('\n'), maxLength + 2)}`
  }
  if (current) output += `\n${current}`
  return output.trim()
}

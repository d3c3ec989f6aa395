#!/usr/bin/env node
// The command reference in docs/commands/, made from the commands' own metadata (oclif.manifest.json,
// so build first) by `oclif readme --multi`: one page per topic plus an index.
//   node scripts/docs-commands.mjs                 regenerate docs/commands (npm run docs:commands)
//   node scripts/docs-commands.mjs --check [DIR]   exit 1 if DIR (default docs/commands) differs from
//                                                  what the commands generate; CI runs this
// The pages are generated into a fresh folder, so a removed command leaves no page behind, and with a
// fixed line width, so the output is the same on every machine.
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const REFERENCE_DIR = 'docs/commands'
const INDEX = 'README.md'
const STALE = `${REFERENCE_DIR} is stale: run npm run docs:commands and commit it`

const INDEX_TEMPLATE = [
  '# relctl command reference',
  '',
  'Generated from the commands themselves by `npm run docs:commands`; do not edit by hand.',
  'The same text is printed by `relctl COMMAND --help`. Concepts, JSON output and exit codes are in',
  '[the documentation index](../README.md).',
  '',
  '<!-- commands -->',
  '<!-- commandsstop -->',
  '',
].join('\n')

function generate(outputDir) {
  const indexPath = join(outputDir, INDEX)
  writeFileSync(indexPath, INDEX_TEMPLATE)
  // oclif writes the topic pages under the current folder, so the output dir is given relative to it.
  const relativeDir = relative(root, outputDir)
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/oclif/bin/run.js'), 'readme', '--multi', '--no-source-links', '--output-dir', relativeDir, '--readme-path', indexPath],
    {cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: {...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}},
  )
  // oclif links the topic pages by the path it was given; the index sits beside them.
  writeFileSync(indexPath, readFileSync(indexPath, 'utf8').replaceAll(`](${relativeDir}/`, '](./'))
}

function differences(expectedDir, actualDir) {
  const expected = readdirSync(expectedDir).sort()
  const actual = existsSync(actualDir) ? readdirSync(actualDir).sort() : []
  const problems = []
  for (const name of expected) {
    if (!actual.includes(name)) problems.push(`missing: ${name}`)
    else if (readFileSync(join(expectedDir, name), 'utf8') !== readFileSync(join(actualDir, name), 'utf8')) problems.push(`differs: ${name}`)
  }
  for (const name of actual) if (!expected.includes(name)) problems.push(`not generated any more: ${name}`)
  return problems
}

const [mode, dirArgument] = process.argv.slice(2)
if (mode !== undefined && mode !== '--check') {
  console.error('usage: node scripts/docs-commands.mjs [--check [DIR]]')
  process.exit(2)
}
if (!existsSync(join(root, 'oclif.manifest.json'))) {
  console.error('oclif.manifest.json is missing: run npm run build first')
  process.exit(1)
}

const scratch = mkdtempSync(join(tmpdir(), 'relctl-docs-commands-'))
try {
  const generated = join(scratch, 'commands')
  mkdirSync(generated)
  generate(generated)
  if (mode === '--check') {
    const problems = differences(generated, resolve(dirArgument ?? join(root, REFERENCE_DIR)))
    if (problems.length > 0) {
      console.error(`${problems.join('\n')}\n${STALE}`)
      process.exitCode = 1
    } else {
      console.log(`${REFERENCE_DIR} matches the commands`)
    }
  } else {
    rmSync(join(root, REFERENCE_DIR), {recursive: true, force: true})
    cpSync(generated, join(root, REFERENCE_DIR), {recursive: true})
    console.log(`${REFERENCE_DIR} regenerated`)
  }
} finally {
  rmSync(scratch, {recursive: true, force: true})
}

#!/usr/bin/env node
// Regenerates docs/commands/ from the commands' own metadata (oclif.manifest.json, so build first):
// one page per topic plus an index, made by `oclif readme --multi`. Run it as `npm run docs:commands`.
// The folder is rebuilt from nothing so that a removed command leaves no page behind, and the line
// width is fixed so that the output is the same on every machine.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outputDir = 'docs/commands'
const indexPath = join(outputDir, 'README.md')

if (!existsSync(join(root, 'oclif.manifest.json'))) {
  console.error('oclif.manifest.json is missing: run npm run build first')
  process.exit(1)
}

rmSync(join(root, outputDir), {recursive: true, force: true})
mkdirSync(join(root, outputDir), {recursive: true})
writeFileSync(
  join(root, indexPath),
  [
    '# relctl command reference',
    '',
    'Generated from the commands themselves by `npm run docs:commands`; do not edit by hand.',
    'The same text is printed by `relctl COMMAND --help`. Global flags, exit codes and JSON output are',
    'described in [the docs index](../README.md).',
    '',
    '<!-- commands -->',
    '<!-- commandsstop -->',
    '',
  ].join('\n'),
)

execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/oclif/bin/run.js'),
    'readme',
    '--multi',
    '--output-dir',
    outputDir,
    '--readme-path',
    indexPath,
    '--no-source-links',
  ],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  },
)

// oclif links the topic pages by their path from the repository root; the index sits beside them.
const index = readFileSync(join(root, indexPath), 'utf8')
writeFileSync(join(root, indexPath), index.replaceAll(`](${outputDir}/`, '](./'))
console.log(`${outputDir} regenerated`)

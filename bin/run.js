#!/usr/bin/env node
// Fast start: `--version` and the root help answer from package.json and the manifest without loading
// oclif (dist/lib/cli/fast-start.js). Everything else runs through oclif from dist/cli.cjs, one bundle
// of oclif, undici and the commands (scripts/bundle-cli.mjs), compiled through a V8 code cache
// (dist/lib/cli/bundle.js); oclif reads oclif.manifest.json and takes the command that runs from the
// bundle's COMMANDS.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const argv = process.argv.slice(2)
const {answerWithoutOclif, oclifDir} = await import('../dist/lib/cli/fast-start.js')
if (!(await answerWithoutOclif(argv))) {
  const {loadBundle} = await import('../dist/lib/cli/bundle.js')
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  const {execute, settings} = loadBundle(fileURLToPath(new URL('../dist/cli.cjs', import.meta.url)), oclifDir('cache', pjson))
  // The bundle is compiled JavaScript: with NODE_ENV=development or test (common in CI jobs) oclif would
  // otherwise look for TypeScript sources and a TypeScript runner, which doubled the start.
  settings.enableAutoTranspile = false
  // package.json keeps the one-file-per-command layout that `oclif manifest` and `oclif readme` read.
  pjson.oclif.commands = {strategy: 'explicit', target: './dist/cli.cjs', identifier: 'COMMANDS'}
  await execute({loadOptions: {root: fileURLToPath(new URL('..', import.meta.url)), pjson}})
}
// Exit as soon as the output is written, with the exit code the command set: left alone, Node lingers
// a few hundred ms while V8 optimises undici's WebAssembly HTTP parser, work nobody waits for.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
process.exit()

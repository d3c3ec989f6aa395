#!/usr/bin/env node
// Fast start: `--version` and the root help answer from package.json and the manifest without loading
// oclif (dist/lib/cli/fast-start.js); everything else goes through oclif, which reads
// oclif.manifest.json and loads only the command that runs.
const argv = process.argv.slice(2)
const {answerWithoutOclif} = await import('../dist/lib/cli/fast-start.js')
if (!(await answerWithoutOclif(argv))) {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
}
// Exit as soon as the output is written, with the exit code the command set: left alone, Node lingers
// a few hundred ms while V8 optimises undici's WebAssembly HTTP parser, work nobody waits for.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
process.exit()

#!/usr/bin/env node
// Fast start: oclif reads oclif.manifest.json and loads only the command that runs.
import {execute} from '@oclif/core/execute'

await execute({dir: import.meta.url})
// Exit as soon as the output is written, with the exit code the command set: left alone, Node lingers
// a few hundred ms while V8 optimises undici's WebAssembly HTTP parser, work nobody waits for.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
process.exit()

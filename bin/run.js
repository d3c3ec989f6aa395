#!/usr/bin/env node
// Fast start: oclif reads oclif.manifest.json and loads only the command that runs.
import {execute} from '@oclif/core/execute'

await execute({dir: import.meta.url})

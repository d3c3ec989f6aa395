// Project and environment names for shell completion, from the control plane, cached for a minute in
// the config dir so that pressing Tab twice asks once. Nothing here may fail loudly: completion
// that cannot reach the control plane offers no names.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {configDir} from './profiles.js'

const CACHE_MS = 60_000

type Cache = Record<string, {at: number; names: string[]}>

function cachePath(): string {
  return join(configDir(), 'completion-cache.json')
}

function readCache(): Cache {
  try {
    return JSON.parse(readFileSync(cachePath(), 'utf8')) as Cache
  } catch {
    return {}
  }
}

/** The names under key, from the cache when fresh, else from load() (and then cached). */
export async function cachedNames(key: string, load: () => Promise<string[]>): Promise<string[]> {
  const cache = readCache()
  const hit = cache[key]
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.names
  const names = await load()
  try {
    mkdirSync(configDir(), {recursive: true})
    writeFileSync(cachePath(), JSON.stringify({...cache, [key]: {at: Date.now(), names}}), {mode: 0o600})
  } catch {
    // a cache that cannot be written only makes the next Tab slower
  }
  return names
}

// Profiles: named control-plane connections (URL, token, CA file) in the user's config dir, file mode 0600.
// RELCTL_CONFIG_DIR moves the file (tests, several setups side by side).
//
// Every API command reads the profile, so reading is a plain JSON.parse of the file: loading conf (and
// the ajv it brings) costs more start-up than the call to the control plane. conf stays the writer, for
// its atomic writes and file mode; both use the one directory configDir() names.
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import type Conf from 'conf'

import {EXIT} from '../api/domain.js'
import {CliError} from '../client/errors.js'

export interface Profile {
  url: string
  token?: string
  /** a PEM file of the certificate (or its CA) to trust for an https:// control plane */
  caFile?: string
}

interface ProfileFile {
  profiles: Record<string, Profile>
}

export const DEFAULT_PROFILE = 'default'
export const DEFAULT_URL = 'http://127.0.0.1:7420'
const FILE_NAME = 'profiles'

/** The CLI's config dir: RELCTL_CONFIG_DIR, else the platform's config dir as conf (env-paths) names it. */
export function configDir(): string {
  if (process.env.RELCTL_CONFIG_DIR) return process.env.RELCTL_CONFIG_DIR
  const home = homedir()
  if (process.platform === 'darwin') return join(home, 'Library', 'Preferences', 'relctl')
  if (process.platform === 'win32') return join(process.env.APPDATA || join(home, 'AppData', 'Roaming'), 'relctl', 'Config')
  return join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'relctl')
}

export function profilesPath(): string {
  return join(configDir(), `${FILE_NAME}.json`)
}

async function open(): Promise<Conf<ProfileFile>> {
  const {default: ConfClass} = await import('conf')
  return new ConfClass<ProfileFile>({
    projectName: 'relctl',
    projectSuffix: '',
    configName: FILE_NAME,
    cwd: configDir(),
    configFileMode: 0o600,
    defaults: {profiles: {}},
  })
}

function readProfiles(): Record<string, Profile> {
  const path = profilesPath()
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw error
  }
  try {
    return (JSON.parse(text) as Partial<ProfileFile>).profiles ?? {}
  } catch {
    throw new CliError(`the profile file ${path} is not valid JSON`, EXIT.usage, 'invalid_input', `fix it, or delete it and run "relctl login" again`)
  }
}

export async function readProfile(name: string): Promise<Profile | undefined> {
  return readProfiles()[name]
}

export async function saveProfile(name: string, profile: Profile): Promise<string> {
  const store = await open()
  store.set('profiles', {...store.get('profiles'), [name]: profile})
  return store.path
}

export async function removeProfile(name: string): Promise<boolean> {
  const store = await open()
  const {[name]: removed, ...rest} = store.get('profiles')
  store.set('profiles', rest)
  return removed !== undefined
}

/** Writes the default profile when it has no token yet; true when it did. */
export async function ensureDefaultProfile(profile: Profile): Promise<boolean> {
  const existing = await readProfile(DEFAULT_PROFILE)
  if (existing?.token) return false
  await saveProfile(DEFAULT_PROFILE, profile)
  return true
}

// Profiles: named control-plane connections (URL and token) in the user's config dir, file mode 0600.
// RELCTL_CONFIG_DIR moves the file (tests, several setups side by side).
import type Conf from 'conf'

export interface Profile {
  url: string
  token?: string
}

interface ProfileFile {
  profiles: Record<string, Profile>
}

export const DEFAULT_PROFILE = 'default'
export const DEFAULT_URL = 'http://127.0.0.1:7420'

async function open(): Promise<Conf<ProfileFile>> {
  const {default: ConfClass} = await import('conf')
  return new ConfClass<ProfileFile>({
    projectName: 'relctl',
    projectSuffix: '',
    configName: 'profiles',
    cwd: process.env.RELCTL_CONFIG_DIR || undefined,
    configFileMode: 0o600,
    defaults: {profiles: {}},
  })
}

export async function readProfile(name: string): Promise<Profile | undefined> {
  return (await open()).get('profiles')[name]
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

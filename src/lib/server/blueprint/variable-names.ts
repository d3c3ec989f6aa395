// Which environment variable names a blueprint or the server may name for deploys to see. A leaf
// module: the blueprint validates with it, the deploy environment and `server start` check with it.

export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The variables that carry the server's token or its file: no deploy ever sees them, even when named. */
export const SECRET_VARIABLES: readonly string[] = ['RELCTL_SERVER_TOKEN', 'RELCTL_SERVER_TOKEN_FILE', 'RELCTL_TOKEN']

/** Why a variable name cannot be passed to deploys, or null when it can. */
export function unpassableVariable(name: string, options: {reservePrefix: boolean}): string | null {
  if (!VARIABLE_NAME_PATTERN.test(name)) return `"${name}" is not a variable name: use letters, digits and "_", not starting with a digit`
  if (SECRET_VARIABLES.includes(name)) return `${name} holds the control plane's token; it is never passed to deploys`
  if (options.reservePrefix && name.startsWith('RELCTL_')) return `${name}: RELCTL_* names are reserved for the variables relctl sets for each task`
  return null
}

// Did-you-mean for mistyped commands and flags, and oclif's parser errors in the words relctl uses.

/** Edit distance (insertions, deletions, substitutions; a swap of two neighbours counts as one). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The candidate closest to input, when it is close enough to be what was meant. */
export function closest(input: string, candidates: string[]): string | undefined {
  let best: {candidate: string; distance: number} | undefined
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate)
    if (!best || distance < best.distance) best = {candidate, distance}
  }
  return best && best.distance <= Math.max(1, Math.floor(best.candidate.length / 3)) ? best.candidate : undefined
}

/**
 * The command a mistyped command line meant. `typed` is oclif's id for the words given (arguments
 * included: release:snyc:api); each command is compared with as many leading words as it has.
 */
export function suggestCommand(typed: string, commandIds: string[]): string | undefined {
  const words = typed.split(':')
  const byPrefix = new Map<string, string>()
  for (const id of commandIds) {
    const length = id.split(':').length
    if (length <= words.length) byPrefix.set(id, words.slice(0, length).join(':'))
  }
  let best: {id: string; distance: number} | undefined
  for (const [id, prefix] of byPrefix) {
    const distance = editDistance(prefix, id)
    if (!best || distance < best.distance || (distance === best.distance && id.length > best.id.length)) best = {id, distance}
  }
  return best && best.distance > 0 && best.distance <= Math.max(1, Math.floor(best.id.length / 4)) ? best.id : undefined
}

/** oclif's parser message without its own help line, in relctl's words, with a did-you-mean for flags. */
export function usageMessage(message: string, flagNames: string[]): string {
  const text = message
    .replace(/\nSee more help with --help\s*$/, '')
    .replace(/^The following errors? occurred:\n/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.replace(/^Missing required flag (\S+)$/, 'missing required flag --$1'))
    .join('\n')
  const unknown = /^Nonexistent flags?: (.+)$/.exec(text)
  if (!unknown) return text
  const given = unknown[1].split(',').map((flag) => flag.trim())
  const suggestions = given.map((flag) => closest(flag.replace(/^-+/, ''), flagNames)).filter(Boolean).map((flag) => `--${flag}`)
  return `unknown flag ${given.join(', ')}${suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : ''}`
}

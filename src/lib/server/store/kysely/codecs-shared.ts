// The encodings every row codec shares: booleans as 0/1, integer keys as numbers, and values that are
// shared by every reader (so frozen).
export const bit = (value: boolean) => (value ? 1 : 0)
export const flag = (value: number | null) => (value === null ? null : value === 1)
/** Integer keys: PostgreSQL's bigserial arrives as a string. */
export const id = (value: number | string) => Number(value)
export const nullableId = (value: number | string | null) => (value === null ? null : Number(value))

/**
 * Text as it came, but PostgreSQL stores no NUL in text: a NUL (a path with %00 in it, a deploy that
 * printed one) is kept as U+2400, the symbol for it, on both stores.
 */
export const storable = <T extends string | null>(text: T): T => (text === null ? text : (text.replaceAll('\0', '\u2400') as T))

/** A value shared by every reader from now on, frozen so that none of them changes it for the others. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

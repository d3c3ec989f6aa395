/** Resolves after ms; its own module so that commands can wait without loading the HTTP client. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

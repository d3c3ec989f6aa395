/** Resolves after ms; its own module so that commands can wait without loading the HTTP client. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** ±20% so that many waiting clients do not poll in lockstep. */
export function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4)
}

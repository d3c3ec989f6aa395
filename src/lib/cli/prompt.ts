// Secrets typed by a person (relctl login): asked on the terminal without echo, so that they stay out of
// the shell history and off the screen; or read from a pipe, for scripts.
import {EXIT} from '../api/domain.js'
import {CliError} from '../client/errors.js'

/** Asks on stderr and reads one line from the terminal, echoing nothing. Ctrl-C gives up (exit 130). */
export function askSecret(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error?: Error) => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      output.write('\n')
      if (error) reject(error)
      else resolve(value.trim())
    }
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish()
        if (char === '\u0003') return finish(new CliError('interrupted (Ctrl-C): nothing was saved', EXIT.interrupted, 'interrupted'))
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
        else if (char >= ' ') value += char
      }
    }
    // Raw mode (no echo) before the question: what is typed after it is never shown.
    input.setRawMode(true)
    input.setEncoding('utf8')
    input.on('data', onData)
    input.resume()
    output.write(question)
  })
}

/** The first line of a stream that is not a terminal: `relctl login --url URL < token-file`. */
export async function readFirstLine(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = ''
  input.setEncoding('utf8')
  for await (const chunk of input) {
    text += chunk as string
    if (text.includes('\n')) break
  }
  return text.split('\n')[0].trim()
}

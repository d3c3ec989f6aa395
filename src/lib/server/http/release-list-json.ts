// A list of releases as JSON, joined from each release's own JSON text, which is kept while the release
// does not change: a queue of a thousand releases is listed again and again while few of them move, and
// serializing a thousand releases costs more than everything else a listing does. The texts come from
// the Release schema's serializer, so the list reads exactly as the schema serializes it.
import {Release, type WaitingFor} from '../../api/schemas.js'

export interface ReleaseSerializers {
  release(release: Release): string
  waitingFor(waitingFor: WaitingFor): string
}

/** A release's JSON as last listed, kept with what it was made of. */
interface ReleaseText {
  release: Release
  /** where it waited then: the end of the text, after its own fields */
  close: string
  /** UTF-8: a comma, its own fields (up to openLength), then `close`; the first of a list goes without the comma */
  json: Buffer
  openLength: number
}

const OPEN_LIST = Buffer.from('[')
const CLOSE_LIST = Buffer.from(']')
const COMMA = Buffer.from(',')

export class ReleaseListJson {
  private static readonly KEPT = 10_000
  private readonly texts = new Map<number, ReleaseText>()
  private readonly waitingTexts = new WeakMap<WaitingFor, string>()
  /** The JSON of each list the views handed out: they hand out the same array for a listing that did not change. */
  private readonly lists = new WeakMap<Release[], Buffer>()

  /** The list's JSON, UTF-8: what is kept is copied, not encoded again. */
  json(releases: Release[], serialize: ReleaseSerializers): Buffer {
    const kept = this.lists.get(releases)
    if (kept) return kept
    const json = this.joined(releases, serialize)
    this.lists.set(releases, json)
    return json
  }

  private joined(releases: Release[], serialize: ReleaseSerializers): Buffer {
    const parts: Buffer[] = [OPEN_LIST]
    for (let index = 0; index < releases.length; index++) {
      const release = releases[index]
      const {json} = this.text(release, serialize)
      parts.push(index === 0 ? json.subarray(1) : json)
    }
    parts.push(CLOSE_LIST)
    return Buffer.concat(parts)
  }

  private text(release: Release, serialize: ReleaseSerializers): ReleaseText {
    const kept = this.texts.get(release.id)
    // The views hand out the same object for a release that did not change and waits in the same place.
    if (kept?.release === release) return kept
    // Where it waits comes last, as the schema orders the fields.
    let close = '}'
    if (release.queuePosition !== undefined) {
      close = `,"queuePosition":${release.queuePosition}${release.waitingFor ? `,"waitingFor":${this.waitingText(release.waitingFor, serialize)}` : ''}}`
    }
    if (kept && sameOwnFields(kept.release, release)) {
      kept.release = release
      if (kept.close !== close) {
        kept.json = Buffer.concat([kept.json.subarray(0, kept.openLength), Buffer.from(close)])
        kept.close = close
      }
      return kept
    }
    const {queuePosition: _queuePosition, waitingFor: _waitingFor, tasks: _tasks, ...own} = release
    // The schema's text of its own fields, without the closing brace.
    const open = Buffer.from(serialize.release(own).slice(0, -1))
    const fresh = {release, close, json: Buffer.concat([COMMA, open, Buffer.from(close)]), openLength: COMMA.length + open.length}
    this.texts.delete(release.id)
    if (this.texts.size >= ReleaseListJson.KEPT) this.texts.delete(this.texts.keys().next().value as number)
    this.texts.set(release.id, fresh)
    return fresh
  }

  private waitingText(waitingFor: WaitingFor, serialize: ReleaseSerializers): string {
    let text = this.waitingTexts.get(waitingFor)
    if (text === undefined) {
      text = serialize.waitingFor(waitingFor)
      this.waitingTexts.set(waitingFor, text)
    }
    return text
  }
}

/** The fields the Release schema serializes, but where a release waits (and its tasks, which a list has not). */
const OWN_FIELDS = Object.keys(Release.properties).filter((field) => !['queuePosition', 'waitingFor', 'tasks'].includes(field))

/**
 * The same release in the same state: every field the schema serializes the same value, or an object of
 * the same values (a decision is read anew each time). A release's lists (resources, options) are shared
 * and frozen by the store, so they are the same objects while the release is unchanged.
 */
function sameOwnFields(kept: Release, release: Release): boolean {
  const a = kept as unknown as Record<string, unknown>
  const b = release as unknown as Record<string, unknown>
  for (let index = 0; index < OWN_FIELDS.length; index++) {
    const field = OWN_FIELDS[index]
    if (!sameValue(a[field], b[field])) return false
  }
  return true
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return false
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key])
}

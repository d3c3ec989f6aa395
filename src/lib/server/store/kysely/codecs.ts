// Row encodings, in one place: how each record is stored (booleans as 0/1, lists and objects as JSON
// text, "none" as '' where a key column cannot be null) and read back.
// The codecs live by concern in the modules below; importers use this one.
export {bit, deepFreeze} from './codecs-shared.js'
export * from './codecs-projects.js'
export * from './codecs-releases.js'
export * from './codecs-control-plane.js'

/** Text helpers the three reports share. */

// C0, DEL and C1 controls: in a terminal they move the cursor or start escape sequences, in XML
// most are illegal, in HTML they are invisible. Scenario text may carry any of them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

const NAMED_CONTROLS: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** `text` on one line with every control character shown as an escape (`\n`, `\u0007`). */
export function visible(text: string): string {
  return text.replace(
    CONTROL,
    (char) => NAMED_CONTROLS[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** The lines of a possibly multi-line text, each made visible. */
export function visibleLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/).map(visible)
}

/** Length in code points, so an emoji or an astral character counts once. */
export function displayLength(text: string): number {
  return Array.from(text).length
}

/** `text` cut to `width` code points, the last one replaced by `…` when something was cut. */
export function truncate(text: string, width: number): string {
  const chars = Array.from(text)
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`
}

/** `text` padded with spaces on the right to `width` code points. */
export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayLength(text)))
}

/** `35 ms` under a second, `1.2 s` above. */
export function formatDuration(ms: number): string {
  const safe = finiteNonNegative(ms)
  return safe < 1000 ? `${Math.round(safe)} ms` : `${(safe / 1000).toFixed(1)} s`
}

/** Milliseconds as seconds with three decimals (JUnit `time`). */
export function seconds(ms: number): string {
  return (finiteNonNegative(ms) / 1000).toFixed(3)
}

/** A value as compact JSON, or a readable stand-in for what JSON cannot hold. */
export function compactJson(value: unknown): string {
  if (value === undefined) {
    return 'undefined'
  }
  try {
    const json = JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint' ? `${item}n` : item,
    ) as string | undefined
    // Functions and symbols stringify to undefined: they are no JSON but still worth naming.
    return json ?? standIn(value)
  } catch {
    return '[value that cannot be shown as JSON]'
  }
}

function finiteNonNegative(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}

function standIn(value: unknown): string {
  if (typeof value === 'function') {
    return `[function ${value.name}]`
  }
  return typeof value === 'symbol' ? value.toString() : `[${typeof value}]`
}

import type { Page } from '../../application/ports.js'

/** Freezes a JSON-like value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) {
      deepFreeze(child)
    }
    Object.freeze(value)
  }
  return value
}

/**
 * A deep copy through JSON. JSON rather than structuredClone because the file store keeps JSON:
 * both stores then hand back exactly what a reopened file store would (no Dates, no undefined).
 */
export function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/** The items at `indexes`, skipping holes. */
export function* indexed<T>(items: readonly T[], indexes: Iterable<number>): Generator<T> {
  for (const index of indexes) {
    const item = items[index]
    if (item !== undefined) {
      yield item
    }
  }
}

/** Counts every match and copies only the page, so a large total costs no copying. */
export function pageOf<T>(
  candidates: Iterable<T>,
  matches: (item: T) => boolean,
  paging: { readonly offset?: number | undefined; readonly limit?: number | undefined },
): Page<T> {
  const { offset, end } = pageBounds(paging)
  const items: T[] = []
  let total = 0
  for (const candidate of candidates) {
    if (matches(candidate)) {
      if (total >= offset && total < end) {
        items.push(copyJson(candidate))
      }
      total += 1
    }
  }
  return { total, items }
}

/** The first and one-past-last positions of a page: offset 0 and no limit mean everything. */
export function pageBounds(paging: {
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}): { readonly offset: number; readonly end: number } {
  const offset = Math.max(0, Math.trunc(paging.offset ?? 0))
  const end = paging.limit === undefined ? Infinity : offset + Math.max(0, Math.trunc(paging.limit))
  return { offset, end }
}

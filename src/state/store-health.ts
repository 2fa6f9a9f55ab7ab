// Whether the state store answers: a StateStore that passes every call through and remembers whether the last one
// reached the store. `watch` serves it on /readyz (503 with the reason while the database cannot be reached,
// ready again with the first call that succeeds), and retries what failed; nothing is submitted without a claim.
import {StateStoreError} from './state-store-error.ts'
import type {StateStore} from './state-store.ts'

/** Errors that say the store is not answering now (a network store down, a lock held too long), not a bug. */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof StateStoreError && (error.code === 'STATE_STORE_UNREACHABLE' || error.code === 'STATE_STORE_BUSY')
}

export class StoreHealth {
  #problem: string | undefined

  /** Why the store is not answering, or undefined when its last call succeeded. */
  get problem(): string | undefined {
    return this.#problem
  }

  observe<T>(call: () => T): T {
    let result: T
    try {
      result = call()
    } catch (error) {
      this.#failed(error)
      throw error
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          this.#problem = undefined
          return value
        },
        (error: unknown) => {
          this.#failed(error)
          throw error
        },
      ) as T
    }
    this.#problem = undefined
    return result
  }

  #failed(error: unknown): void {
    if (isStoreUnavailable(error)) this.#problem = (error as Error).message
  }
}

/** `store` with every method call observed by `health`. */
export function withStoreHealth(store: StateStore, health: StoreHealth): StateStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      // Called on the store itself: its methods use private fields, which a proxy does not have.
      return (...args: unknown[]) => health.observe(() => (value as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
}

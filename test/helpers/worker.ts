/**
 * A worker thread's messages, error and exit, recorded from the moment it is created.
 *
 * Listening only when the test gets there is racy: a worker that posts its last message and exits
 * can emit 'exit' before the awaiting test attaches `once('exit')`, which then waits forever.
 * Attach this right after `new Worker(...)`, in the same synchronous run.
 */
import type { Worker } from 'node:worker_threads'

export interface WatchedWorker {
  /** The next message not yet taken; rejects on a worker error or an exit before it came. */
  next(): Promise<any>
  /** The exit code (settles even when the test never asks). */
  exited: Promise<number>
}

export function watchWorker(worker: Worker): WatchedWorker {
  const inbox: any[] = []
  const waiting: Array<{ resolve: (msg: any) => void; reject: (err: Error) => void }> = []
  let failure: Error | null = null
  worker.on('message', (msg) => {
    const w = waiting.shift()
    if (w) w.resolve(msg)
    else inbox.push(msg)
  })
  worker.on('error', (err) => {
    failure = err
    for (const w of waiting.splice(0)) w.reject(err)
  })
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      // Messages are delivered before 'exit': whoever still waits will never get one.
      failure ??= new Error(`worker exited with code ${code} before sending the awaited message`)
      for (const w of waiting.splice(0)) w.reject(failure)
      resolve(code)
    })
  })
  return {
    next(): Promise<any> {
      if (inbox.length > 0) return Promise.resolve(inbox.shift())
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }))
    },
    exited,
  }
}

/**
 * The messages that pass between a parent and the worker thread or child process running a
 * target (a `Thread` or `Process`). Every message names its kind in `type`.
 */
import type { ExportRef } from './target.ts';

/** What to run: a target function with arguments, or an instance of a subclass that overrides `run()`. */
export interface RunPlan {
  /** `function`: import `ref` and call it with `args`. `instance`: rebuild `self` and call its `run()`. `none`: nothing to run. */
  kind: 'function' | 'instance' | 'none';
  ref?: ExportRef;
  /** Encoded arguments (an array) or, for `instance`, the encoded object. */
  payload?: unknown;
  name: string;
  daemon: boolean;
  /**
   * The target is a plain (not async) function: it may block its thread (`acquireSync`, busy
   * loops) and so gets a worker thread no other Thread is suspended on (see thread/scheduler.ts).
   */
  exclusive: boolean;
}

export interface RunMessage {
  type: 'run';
  id: number;
  plan: RunPlan;
}

export interface CancelMessage {
  type: 'cancel';
  id: number;
}

export type ToWorker = RunMessage | CancelMessage;

export type FromWorker =
  /** The worker's event loop is free: it can take another Thread. */
  | { type: 'ready' }
  | { type: 'message'; id: number; data: unknown }
  /** `exitCode`: set when the target called `process.exit(n)` (default 0). */
  | { type: 'done'; id: number; ok: true; result: unknown; exitCode?: number }
  | { type: 'done'; id: number; ok: false; error: unknown };

/**
 * The jobs a `ClusterExecutor` enqueues and a `threadkit worker` runs, as both agree on them:
 * BullMQ queue and key names, a job's data, and the keys and channel beside BullMQ's own.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { TargetRef } from './target-ref.ts';

/** BullMQ's key prefix for threadkit's queues. */
export const BULL_PREFIX = 'tk';

/** A task as BullMQ job data. */
export interface TaskData {
  v: 1;
  target: TargetRef;
  /** The arguments, packed (payload.ts). */
  args: string;
}

/** A task's return value as BullMQ stores it: the result, packed. */
export type TaskResult = string;

export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new InvalidArgumentError(`Expected \`queue\` to be a name of letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}.`);
  }
  return name;
}

export interface ClusterKeys {
  /** Packed error of a job's last failed attempt (written only by the worker still holding the job's lock). */
  error(jobId: string): string;
  /** Set when a job was cancelled: a worker that picks it up later does not run it. */
  cancelled(jobId: string): string;
  /** Pub/sub channel: a job id to cancel, to every worker. */
  cancelChannel: string;
  /** BullMQ's lock of an active job (its value is the holding worker's token). */
  bullLock(jobId: string): string;
}

export function clusterKeys(queue: string): ClusterKeys {
  const base = `${BULL_PREFIX}:exec:{${queue}}`;
  return {
    error: (id) => `${base}:error:${id}`,
    cancelled: (id) => `${base}:cancelled:${id}`,
    cancelChannel: `${base}:cancel`,
    bullLock: (id) => `${BULL_PREFIX}:${queue}:${id}:lock`,
  };
}

/** How long the error and cancel markers live. */
export const MARKER_TTL_MS = 24 * 3600_000;

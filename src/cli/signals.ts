/**
 * The signals that stop a threadkit command the way Ctrl-C does: Ctrl-C itself, `kill`, and a
 * terminal that closes. Each command decides what stopping means (download: stop and keep every
 * `.part`; worker: drain), and exits as a shell reports a signal's end.
 */
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
export function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

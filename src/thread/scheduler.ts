/**
 * Places Threads on carriers (worker threads), so that starting a Thread costs a message, not a
 * new isolate, and a hundred Threads start within milliseconds of each other. The carriers are
 * a worker set (src/workers/worker-set.ts); this file decides which carrier runs what.
 *
 * - A carrier takes a new Thread only when it is `free`: it said `ready`, so its event loop is
 *   free. A target that blocks synchronously thus keeps its carrier, and later Threads go
 *   elsewhere.
 * - A synchronous target (not an async function) goes only to a carrier with no other Thread
 *   on it: it may block (`acquireSync`) on a lock that a Thread suspended on the same carrier
 *   holds, which could then never run to release it.
 * - Queued Threads wait for the first free carrier. When none is free and none is booting, a
 *   new carrier boots, so one spare is always on its way; blocked carriers never delay a start
 *   by more than one boot.
 * - A carrier is ref'd only while it runs a non-daemon Thread (the program waits for those,
 *   Python's rule) and is stopped after a while idle beyond the warm minimum.
 */
import { availableParallelism } from 'node:os';
import { WorkerDiedError } from '../errors.ts';
import { entryPoint } from '../internal/package-files.ts';
import type { FromWorker, RunPlan, ToWorker } from '../internal/run-messages.ts';
import { currentProcess } from '../process/current.ts';
import { startThread, type WorkerExit } from '../workers/worker-handle.ts';
import { ManagedWorker, WorkerSet } from '../workers/worker-set.ts';

/** What the scheduler tells the Thread object about its run. */
export interface RunHandle {
  readonly id: number;
  readonly plan: RunPlan;
  onDispatched(threadId: number): void;
  onMessage(data: unknown): void;
  onDone(ok: boolean, payload: unknown, exitCode?: number): void;
  onDied(error: Error): void;
}

/** A worker thread that runs Threads: which ones, and whether its event loop is free for another. */
class Carrier extends ManagedWorker<ToWorker> {
  /** It said `ready` since it was last given a Thread: its event loop is free. */
  free = false;
  readonly runs = new Map<number, RunHandle>();
  /** Runs that keep the program alive: counted as they come and go, not recounted per event. */
  nonDaemon = 0;

  add(run: RunHandle): void {
    this.runs.set(run.id, run);
    if (!run.plan.daemon) this.nonDaemon++;
  }

  /** Removes and returns the run, if this carrier has it. */
  take(id: number): RunHandle | undefined {
    const run = this.runs.get(id);
    if (run && this.runs.delete(id) && !run.plan.daemon) this.nonDaemon--;
    return run;
  }

  /** Removes every run and returns them. */
  takeAll(): RunHandle[] {
    const all = [...this.runs.values()];
    this.runs.clear();
    this.nonDaemon = 0;
    return all;
  }

  /** Ready and free, with no Thread on it. */
  get idle(): boolean {
    return this.state === 'ready' && this.free && this.runs.size === 0;
  }
}

const CARRIER = entryPoint('thread/carrier');
const IDLE_MS = 5_000;
/** How long a spare waits before it boots when no Thread is queued: the Thread just started has the cores first. */
const SPARE_DELAY_MS = 25;

class Scheduler {
  readonly queue: RunHandle[] = [];
  readonly warmMinimum = Math.max(2, availableParallelism());
  #spareTimer: ReturnType<typeof setTimeout> | undefined;
  /** The carriers. One booted with `spare` has no Thread waiting for it, so it loads the rest of threadkit before it says ready. */
  readonly #carriers = new WorkerSet<Carrier, FromWorker, { spare: boolean }>({
    start: (events, { spare }) => {
      const { name, daemon } = currentProcess();
      return startThread(CARRIER, { process: { name, daemon }, spare }, events);
    },
    create: (handle) => new Carrier(handle),
    onMessage: (carrier, message) => this.#onMessage(carrier, message),
    onExit: (carrier, exit) => this.#onExit(carrier, exit),
  });

  /**
   * A Thread is about to be planned: unless a carrier is free or booting, boot one now, so that
   * its isolate boots while the Thread's target is described and its arguments encoded. A
   * synchronous (`exclusive`) Thread needs a carrier of its own: it also boots one when every
   * booting or idle carrier is already awaited by an exclusive Thread queued before it (up to
   * one carrier per core), so that two started together boot side by side, not one after the other.
   */
  prepare(exclusive = false): void {
    if (exclusive && this.#exclusiveWanting()) return this.#bootNow();
    if (this.#anyFree() || this.#hasSpare()) return;
    this.#bootNow();
  }

  /** Exclusive Threads queued outnumber (or match) the carriers that could take one soon, and there is room for one more carrier. */
  #exclusiveWanting(): boolean {
    if (this.#live() >= availableParallelism()) return false;
    let queued = 0;
    for (const r of this.queue) if (r.plan.exclusive) queued++;
    if (queued === 0) return false;
    let coming = 0;
    for (const c of this.#carriers) if (c.state === 'booting' || c.idle) coming++;
    return coming <= queued;
  }

  #bootNow(): void {
    clearTimeout(this.#spareTimer);
    this.#spareTimer = undefined;
    this.#carriers.boot({ spare: false });
    this.#updateBootRefs(); // nothing waits for it yet: it holds the program open only once a Thread does
  }

  submit(run: RunHandle): void {
    this.queue.push(run);
    this.#drain();
  }

  /** Removes a run that has not been dispatched yet; true when it was still queued. */
  withdraw(run: RunHandle): boolean {
    const i = this.queue.indexOf(run);
    if (i >= 0) this.queue.splice(i, 1);
    return i >= 0;
  }

  cancel(run: RunHandle, carrier: Carrier): void {
    carrier.handle.send({ type: 'cancel', id: run.id });
  }

  /** Stops the carrier that runs only `run`. Returns false when other Threads share it. */
  terminateAlone(run: RunHandle): boolean {
    const carrier = this.carrierOf(run);
    if (carrier?.runs.size !== 1) return false;
    carrier.takeAll();
    this.#carriers.stop(carrier, 'its only Thread was terminated');
    return true;
  }

  carrierOf(run: RunHandle): Carrier | undefined {
    for (const c of this.#carriers) if (c.runs.has(run.id)) return c;
    return undefined;
  }

  #onMessage(carrier: Carrier, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        // It may have been ref'd while booting for Threads that went elsewhere.
        if (this.#carriers.ready(carrier)) this.#updateRef(carrier);
        carrier.free = true;
        this.#drain();
        break;
      case 'message':
        carrier.runs.get(message.id)?.onMessage(message.data);
        break;
      case 'done': {
        const run = carrier.take(message.id);
        if (!run) break;
        this.#updateRef(carrier);
        if (message.ok) run.onDone(true, message.result, message.exitCode);
        else run.onDone(false, message.error);
        this.#maybeRetire(carrier);
        break;
      }
    }
  }

  #onExit(carrier: Carrier, exit: WorkerExit): void {
    if (carrier.stopReason !== undefined) return; // stopped here: its runs were dealt with then
    const error = exit.error ?? new WorkerDiedError(`The worker thread running this Thread exited with code ${exit.code}.`);
    for (const run of carrier.takeAll()) run.onDied(error);
    this.#drain();
  }

  /** Carriers not being stopped. */
  #live(): number {
    return this.#carriers.size - this.#carriers.count('stopping');
  }

  #drain(): void {
    for (let i = 0; i < this.queue.length; ) {
      const run = this.queue[i]!;
      const carrier = this.#pickFree(run.plan.exclusive);
      if (!carrier) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.#dispatch(carrier, run);
    }
    this.#ensureSpare();
    this.#updateBootRefs();
  }

  /**
   * The free carrier running the fewest Threads. A synchronous target may block its thread
   * (`acquireSync`, a busy loop): it only goes where no other Thread is suspended, since one of
   * those could hold what it waits for and could never run to release it.
   */
  #pickFree(exclusive: boolean): Carrier | undefined {
    let best: Carrier | undefined;
    for (const c of this.#carriers) {
      if (c.state !== 'ready' || !c.free || (exclusive && c.runs.size > 0)) continue;
      if (!best || c.runs.size < best.runs.size) best = c;
    }
    return best;
  }

  #dispatch(carrier: Carrier, run: RunHandle): void {
    carrier.free = false;
    this.#carriers.keep(carrier);
    carrier.add(run);
    this.#updateRef(carrier);
    carrier.handle.send({ type: 'run', id: run.id, plan: run.plan });
    run.onDispatched(carrier.handle.id);
  }

  /** A carrier booting or idle: the next start need not wait for a new isolate. */
  #hasSpare(): boolean {
    for (const c of this.#carriers) if (c.state === 'booting' || c.idle) return true;
    return false;
  }

  #anyFree(): boolean {
    for (const c of this.#carriers) if (c.state === 'ready' && c.free) return true;
    return false;
  }

  /** Keeps one carrier ready or booting whenever Threads are in use, so the next start does not wait for an isolate. */
  #ensureSpare(): void {
    if (this.#hasSpare()) return;
    if (this.queue.length === 0 && this.#live() >= this.warmMinimum && this.#anyFree()) return;
    if (this.queue.length > 0) {
      // Threads wait: boot at once.
      clearTimeout(this.#spareTimer);
      this.#spareTimer = undefined;
      this.#carriers.boot({ spare: false });
      return;
    }
    // No one waits: the spare boots a moment later, so it does not take a core from the Thread
    // just dispatched (a cold start would otherwise share the machine with the next isolate's boot).
    this.#spareTimer ??= setTimeout(() => {
      this.#spareTimer = undefined;
      if (this.#hasSpare()) return;
      if (this.#live() >= this.warmMinimum && this.#anyFree()) return;
      this.#carriers.boot({ spare: true });
      this.#updateBootRefs();
    }, SPARE_DELAY_MS).unref();
  }

  /** A booting carrier holds the program open while non-daemon Threads wait for it. */
  #updateBootRefs(): void {
    const waiting = this.queue.some((r) => !r.plan.daemon);
    for (const c of this.#carriers) if (c.state === 'booting') waiting ? c.handle.ref() : c.handle.unref();
  }

  #updateRef(carrier: Carrier): void {
    if (carrier.nonDaemon > 0) carrier.handle.ref();
    else carrier.handle.unref();
  }

  #maybeRetire(carrier: Carrier): void {
    if (carrier.runs.size > 0 || this.#live() <= this.warmMinimum) return;
    this.#carriers.stopWhenIdle(carrier, IDLE_MS, () => carrier.runs.size === 0 && this.#live() > this.warmMinimum, 'it was idle');
  }
}

let scheduler: Scheduler | undefined;
export function getScheduler(): Scheduler {
  return (scheduler ??= new Scheduler());
}

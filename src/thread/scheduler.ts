/**
 * Places Threads on carriers (worker threads), so that starting a Thread costs a message, not a
 * new isolate, and a hundred Threads start within milliseconds of each other.
 *
 * - A carrier takes a new Thread only after it said `ready`: its event loop is free. A target
 *   that blocks synchronously thus keeps its carrier, and later Threads go elsewhere.
 * - A synchronous target (not an async function) goes only to a carrier with no other Thread
 *   on it: it may block (`acquireSync`) on a lock that a Thread suspended on the same carrier
 *   holds, which could then never run to release it.
 * - Queued Threads wait for the first ready carrier. When none is ready and none is booting, a
 *   new carrier boots, so one spare is always on its way; blocked carriers never delay a start
 *   by more than one boot.
 * - A carrier is ref'd only while it runs a non-daemon Thread (the program waits for those,
 *   Python's rule) and is stopped after a while idle beyond the warm minimum.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { WorkerDiedError } from '../errors.ts';
import type { FromWorker, RunPlan, ToWorker } from '../internal/run-messages.ts';
import { RUNTIME_KEY, markSlotDead, reserveSlot } from '../internal/runtime.ts';
import { currentProcess } from '../process/current.ts';

/** What the scheduler tells the Thread object about its run. */
export interface RunHandle {
  readonly id: number;
  readonly plan: RunPlan;
  onDispatched(threadId: number): void;
  onMessage(data: unknown): void;
  onDone(ok: boolean, payload: unknown, exitCode?: number): void;
  onDied(error: Error): void;
}

class Carrier {
  readonly worker: Worker;
  readonly slot: number;
  booting = true;
  ready = false;
  readonly runs = new Map<number, RunHandle>();
  idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** `spare`: no Thread waits for it, so it may spend its idle time loading the rest of threadkit. */
  constructor(scheduler: Scheduler, spare: boolean) {
    const runtime = reserveSlot();
    this.slot = runtime.slot;
    const { name, daemon } = currentProcess();
    this.worker = new Worker(CARRIER, { workerData: { [RUNTIME_KEY]: runtime, process: { name, daemon }, spare } });
    this.worker.unref();
    this.worker.on('message', (message: FromWorker) => scheduler.onMessage(this, message));
    this.worker.on('error', (err) => scheduler.onExit(this, err));
    this.worker.on('exit', (code) => scheduler.onExit(this, new WorkerDiedError(`The worker thread running this Thread exited with code ${code}.`)));
  }

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

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

const CARRIER = import.meta.url.endsWith('.ts') ? new URL('./carrier.ts', import.meta.url) : new URL('./carrier.js', import.meta.url);
const IDLE_MS = 5_000;
/** How long a spare waits before it boots when no Thread is queued: the Thread just started has the cores first. */
const SPARE_DELAY_MS = 25;

class Scheduler {
  readonly carriers = new Set<Carrier>();
  readonly queue: RunHandle[] = [];
  readonly warmMinimum = Math.max(2, availableParallelism());
  #spareTimer: ReturnType<typeof setTimeout> | undefined;

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
    carrier.send({ type: 'cancel', id: run.id });
  }

  /** Stops the carrier that runs only `run`. Returns false when other Threads share it. */
  terminateAlone(run: RunHandle): boolean {
    const carrier = this.carrierOf(run);
    if (carrier?.runs.size !== 1) return false;
    carrier.takeAll();
    this.#remove(carrier);
    void carrier.worker.terminate();
    return true;
  }

  carrierOf(run: RunHandle): Carrier | undefined {
    for (const c of this.carriers) if (c.runs.has(run.id)) return c;
    return undefined;
  }

  onMessage(carrier: Carrier, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        if (carrier.booting) {
          carrier.booting = false;
          // It may have been ref'd while booting for Threads that went elsewhere.
          this.#updateRef(carrier);
        }
        carrier.ready = true;
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

  onExit(carrier: Carrier, error: Error): void {
    if (!this.carriers.has(carrier)) return;
    this.#remove(carrier);
    const runs = carrier.takeAll();
    for (const run of runs) run.onDied(error);
    this.#drain();
  }

  #remove(carrier: Carrier): void {
    this.carriers.delete(carrier);
    clearTimeout(carrier.idleTimer);
    // Locks it held are now poisoned for their waiters instead of hanging them.
    carrier.worker.once('exit', () => markSlotDead(carrier.slot));
    if (carrier.worker.threadId === -1) markSlotDead(carrier.slot);
  }

  #drain(): void {
    for (let i = 0; i < this.queue.length; ) {
      const run = this.queue[i]!;
      const carrier = this.#pickReady(run.plan.exclusive);
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
   * The ready carrier running the fewest Threads. A synchronous target may block its thread
   * (`acquireSync`, a busy loop): it only goes where no other Thread is suspended, since one of
   * those could hold what it waits for and could never run to release it.
   */
  #pickReady(exclusive: boolean): Carrier | undefined {
    let best: Carrier | undefined;
    for (const c of this.carriers) {
      if (!c.ready || (exclusive && c.runs.size > 0)) continue;
      if (!best || c.runs.size < best.runs.size) best = c;
    }
    return best;
  }

  #dispatch(carrier: Carrier, run: RunHandle): void {
    carrier.ready = false;
    clearTimeout(carrier.idleTimer);
    carrier.add(run);
    this.#updateRef(carrier);
    carrier.send({ type: 'run', id: run.id, plan: run.plan });
    run.onDispatched(carrier.worker.threadId);
  }

  /** Keeps one carrier ready or booting whenever Threads are in use, so the next start does not wait for an isolate. */
  #ensureSpare(): void {
    for (const c of this.carriers) if (c.booting || (c.ready && c.runs.size === 0)) return;
    if (this.queue.length === 0 && this.carriers.size >= this.warmMinimum && [...this.carriers].some((c) => c.ready)) return;
    if (this.queue.length > 0) {
      // Threads wait: boot at once.
      clearTimeout(this.#spareTimer);
      this.#spareTimer = undefined;
      this.carriers.add(new Carrier(this, false));
      return;
    }
    // No one waits: the spare boots a moment later, so it does not take a core from the Thread
    // just dispatched (a cold start would otherwise share the machine with the next isolate's boot).
    this.#spareTimer ??= setTimeout(() => {
      this.#spareTimer = undefined;
      for (const c of this.carriers) if (c.booting || (c.ready && c.runs.size === 0)) return;
      if (this.carriers.size >= this.warmMinimum && [...this.carriers].some((c) => c.ready)) return;
      this.carriers.add(new Carrier(this, true));
      this.#updateBootRefs();
    }, SPARE_DELAY_MS).unref();
  }

  /** A booting carrier holds the program open while non-daemon Threads wait for it. */
  #updateBootRefs(): void {
    const waiting = this.queue.some((r) => !r.plan.daemon);
    for (const c of this.carriers) if (c.booting) waiting ? c.worker.ref() : c.worker.unref();
  }

  #updateRef(carrier: Carrier): void {
    if (carrier.nonDaemon > 0) carrier.worker.ref();
    else carrier.worker.unref();
  }

  #maybeRetire(carrier: Carrier): void {
    if (carrier.runs.size > 0 || this.carriers.size <= this.warmMinimum) return;
    carrier.idleTimer = setTimeout(() => {
      if (carrier.runs.size > 0 || this.carriers.size <= this.warmMinimum) return;
      this.#remove(carrier);
      void carrier.worker.terminate();
    }, IDLE_MS).unref();
  }
}

let scheduler: Scheduler | undefined;
export function getScheduler(): Scheduler {
  return (scheduler ??= new Scheduler());
}

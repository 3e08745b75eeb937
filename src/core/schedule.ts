/**
 * The one place background work runs: named tasks, each repeated every `everyMs` while the server
 * listens. The server registers them (src/server.ts); capabilities only provide the functions.
 *
 * - A task never overlaps itself: a tick that finds it running is dropped; `kick(name)` asks for a
 *   run soon and, when it finds the task running, for one more run right after it.
 * - `stop()` clears every timer, waits for the runs in progress, then runs each task's `onStop`
 *   (e.g. integrating what this process appended last) — so a closing server lets go of the
 *   database only when its background work is done.
 * - Timers are unref'd: background work never keeps a process alive by itself.
 */
import { outsideRequest } from './db.ts';
export interface ScheduledTask {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
  /** Runs once when the scheduler stops, after the last run finished. */
  onStop?: () => Promise<unknown>;
}

export interface ScheduleLog {
  error(obj: object, msg: string): void;
}

interface Slot {
  task: ScheduledTask;
  timer?: NodeJS.Timeout;
  soon?: NodeJS.Timeout;
  running?: Promise<void>;
  again: boolean;
}

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private started = false;
  private stopped = false;

  constructor(private readonly log: ScheduleLog) {}

  add(task: ScheduledTask): void {
    if (this.slots.has(task.name)) throw new Error(`task ${task.name} is already scheduled`);
    if (!(task.everyMs > 0)) throw new Error(`task ${task.name}: everyMs must be positive`);
    const slot: Slot = { task, again: false };
    this.slots.set(task.name, slot);
    if (this.started) this.arm(slot);
  }

  /** Names of the tasks, in the order they were added. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const slot of this.slots.values()) this.arm(slot);
  }

  /** Runs `name` after `delayMs` (or right after its current run); ignored before start and after stop. */
  kick(name: string, delayMs = 0): void {
    const slot = this.slots.get(name);
    if (!slot || !this.started || this.stopped) return;
    if (slot.running) {
      slot.again = true;
      return;
    }
    if (slot.soon) return;
    slot.soon = setTimeout(() => {
      slot.soon = undefined;
      this.runNow(slot);
    }, delayMs);
    slot.soon.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const slot of this.slots.values()) {
      clearInterval(slot.timer);
      clearTimeout(slot.soon);
    }
    await Promise.all([...this.slots.values()].map((slot) => slot.running));
    for (const slot of this.slots.values()) {
      await slot.task.onStop?.().catch((err: unknown) => this.log.error({ err }, `${slot.task.name} failed`));
    }
  }

  private arm(slot: Slot): void {
    slot.timer = setInterval(() => {
      if (!slot.running) this.runNow(slot);
    }, slot.task.everyMs);
    slot.timer.unref();
  }

  private runNow(slot: Slot): void {
    if (this.stopped || slot.running) return;
    // A kick from a request must not carry that request's transaction work into the task.
    slot.running = outsideRequest(() => slot.task.run())
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err }, `${slot.task.name} failed`))
      .finally(() => {
        slot.running = undefined;
        if (slot.again) {
          slot.again = false;
          this.kick(slot.task.name);
        }
      });
  }
}

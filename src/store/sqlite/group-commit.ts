/**
 * Group commit: appends that arrive while a flush is pending share one transaction, hence one fsync. Each append
 * runs in its own SAVEPOINT, so it fails alone with its own error and sees the appends before it in the batch; none
 * is answered before COMMIT has returned. A batch whose transaction fails (BEGIN, COMMIT, or a storage error that
 * makes SQLite roll everything back) fails every one of its appends with `unavailable`, and the in-memory positions
 * and stream versions are reloaded from disk. Nothing of it was written, unless COMMIT failed in a way that may have
 * left it on disk (a failed fsync, see `mayHaveCommitted`): then its appends say their outcome is unknown, and the
 * database is reopened before they are answered, so that the store shows what a restart would find.
 */
import { AppendQueue } from '../append-queue.ts';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { GaterError, UnavailableError, toGaterError } from '../../errors/index.ts';
import type { RecordedEvent } from '../types.ts';
import type { AppendWriter, BatchCursor, PendingAppend, WrittenAppend } from './append-writer.ts';
import type { EventDecoder } from '../event-rows.ts';
import type { StreamIndex } from './stream-index.ts';
import { mayHaveCommitted } from './database.ts';
import { outcomeUnknown } from '../store-errors.ts';

export interface GroupCommitComponents {
  db: DatabaseSync;
  writer: AppendWriter;
  streams: StreamIndex;
  decoder: EventDecoder;
  logger: Logger;
  /** Reads from disk the position the next event gets. */
  loadNextPosition: () => number;
  /** Called after each commit with its events in position order, when `wantsEvents()` says someone listens. */
  onCommitted: (events: RecordedEvent[]) => void;
  wantsEvents: () => boolean;
  /**
   * Called when a COMMIT failed in a way that may have left its batch on disk, before the batch's appends are
   * answered: this connection's view may no longer be what the disk holds, and only opening the database again
   * settles it (the store reopens it, handing the appends still queued here to its new GroupCommit).
   */
  onOutcomeUnknown: () => void;
}

export interface GroupCommitInit {
  /** Most events in one batch; an append larger than this still forms a batch of its own. */
  maxBatchEvents: number;
}

export class GroupCommit {
  readonly #c: GroupCommitComponents;
  readonly #maxBatchEvents: number;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #queue = new AppendQueue<PendingAppend>();
  #scheduled = false;
  #nextPosition: number;
  #lastEpochUs = 0;
  #idle: PromiseWithResolvers<void> | undefined;
  #batches = 0;
  #batchedAppends = 0;

  constructor(components: GroupCommitComponents, init: GroupCommitInit) {
    this.#c = components;
    this.#maxBatchEvents = init.maxBatchEvents;
    this.#begin = components.db.prepare('BEGIN IMMEDIATE');
    this.#commit = components.db.prepare('COMMIT');
    this.#nextPosition = components.loadNextPosition();
  }

  /** Position the next committed event gets; everything below it is durable. */
  get nextPosition(): number {
    return this.#nextPosition;
  }

  /** Appends waiting for a batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Batches run and appends they held, since open (their ratio is the mean batch size). */
  get counters(): { batches: number; appends: number } {
    return { batches: this.#batches, appends: this.#batchedAppends };
  }

  enqueue(append: PendingAppend): void {
    this.#queue.push(append);
    if (!this.#scheduled) {
      this.#scheduled = true;
      // setImmediate, not a microtask: every append that arrives in this turn of the event loop joins the batch.
      setImmediate(this.#flush);
    }
  }

  /** Takes every append still waiting, for the GroupCommit of a reopened database. */
  takePending(): PendingAppend[] {
    const taken: PendingAppend[] = [];
    while (this.#queue.length > 0) {
      taken.push(...this.#queue.takeBatch(Number.MAX_SAFE_INTEGER, undefined, false, Number.MAX_SAFE_INTEGER));
    }
    return taken;
  }

  /** Resolves once no append is waiting. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    try {
      const batch = this.#queue.takeBatch(this.#maxBatchEvents);
      if (batch.length > 0) this.#run(batch);
    } finally {
      // Whatever happened to this batch, the appends behind it still get theirs.
      if (this.pending > 0) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      } else {
        this.#idle?.resolve();
        this.#idle = undefined;
      }
    }
  };


  #run(batch: PendingAppend[]): void {
    const { db, writer, streams } = this.#c;
    this.#batches++;
    this.#batchedAppends += batch.length;
    const cursor: BatchCursor = { nextPosition: this.#nextPosition, epochUs: this.#now() };
    try {
      this.#begin.run();
    } catch (err) {
      this.#failAll(batch, err, false);
      return;
    }
    const outcomes: (WrittenAppend | GaterError)[] = new Array(batch.length);
    let failure: unknown;
    let unknownOutcome = false;
    for (let i = 0; i < batch.length; i++) {
      try {
        outcomes[i] = writer.write(batch[i]!, cursor);
      } catch (err) {
        // The writer throws GaterErrors; anything else still fails this append, never resolves it with nothing.
        outcomes[i] = toGaterError(err);
        // A storage error may have made SQLite roll the whole transaction back, taking the earlier appends with it.
        if (!db.isTransaction) {
          failure = err;
          break;
        }
      }
    }
    if (failure === undefined) {
      try {
        this.#commit.run();
      } catch (err) {
        failure = err;
        unknownOutcome = mayHaveCommitted(err);
      }
    }
    if (failure !== undefined) {
      this.#failAll(batch, failure, true, unknownOutcome);
      return;
    }

    streams.commitStaged();
    this.#nextPosition = cursor.nextPosition;
    for (let i = 0; i < batch.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome instanceof GaterError) batch[i]!.reject(outcome);
      else batch[i]!.resolve(outcome.result);
    }
    if (this.#c.wantsEvents()) {
      try {
        this.#announce(batch, outcomes, cursor.epochUs);
      } catch (err) {
        // The appends are durable and answered; only the live hint is lost (readers catch up from the store).
        this.#c.logger.error({ err }, 'cannot announce committed events');
      }
    }
  }

  /**
   * The batch failed: every append of it fails, and memory is brought back in line with the disk. `began`: whether
   * the batch's transaction was opened (and so is ours to roll back if it is still open). `unknownOutcome`: its
   * COMMIT may have left it on disk all the same.
   */
  #failAll(batch: readonly PendingAppend[], cause: unknown, began: boolean, unknownOutcome = false): void {
    const { db, streams, logger } = this.#c;
    logger.error(
      { err: cause, appends: batch.length },
      unknownOutcome
        ? 'append batch failed at COMMIT; its outcome is unknown until the database is reopened'
        : 'append batch failed; nothing of it was committed',
    );
    try {
      if (began && db.isTransaction) db.exec('ROLLBACK');
    } catch (err) {
      logger.error({ err }, 'rollback failed');
    }
    streams.clear();
    try {
      this.#nextPosition = this.#c.loadNextPosition();
    } catch (err) {
      logger.error({ err }, 'cannot reload the next position');
    }
    if (unknownOutcome) {
      try {
        this.#c.onOutcomeUnknown();
      } catch (err) {
        logger.error({ err }, 'cannot reopen the database after a commit of unknown outcome');
      }
      for (const append of batch) append.reject(outcomeUnknown('append', cause));
      return;
    }
    const message = `append not committed: ${cause instanceof Error ? cause.message : String(cause)}`;
    for (const append of batch) append.reject(new UnavailableError(message, {}, { cause }));
  }

  #announce(batch: readonly PendingAppend[], outcomes: readonly (WrittenAppend | GaterError)[], epochUs: number): void {
    const decoder = this.#c.decoder;
    const events: RecordedEvent[] = [];
    for (let i = 0; i < batch.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome instanceof GaterError || !outcome.wrote) continue;
      const { streamId, prepared } = batch[i]!;
      const written = prepared.events;
      for (let j = 0; j < written.length; j++) {
        events.push(
          decoder.fromPrepared(written[j]!, streamId, outcome.firstVersion + j, outcome.firstPosition + j, epochUs),
        );
      }
    }
    if (events.length > 0) this.#c.onCommitted(events);
  }

  /** Commit time in microseconds; never goes back, so timestamps follow positions. */
  #now(): number {
    const us = Math.trunc((performance.timeOrigin + performance.now()) * 1000);
    this.#lastEpochUs = Math.max(this.#lastEpochUs, us);
    return this.#lastEpochUs;
  }
}

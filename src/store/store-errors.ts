/**
 * The errors a store backend reports about its own records, worded once for every backend so that a caller sees the
 * same message and data whichever backend answered.
 */
import { GaterError, InvalidArgumentError, NotFoundError, UnavailableError } from '../errors/index.ts';

/** No snapshot of the source/stream (at `version`, or at all when `version` is 0). */
export function snapshotNotFound(sourceUuid: string, streamUuid: string, version: number): NotFoundError {
  return new NotFoundError(
    version === 0
      ? `snapshot of ${sourceUuid}/${streamUuid}`
      : `snapshot ${sourceUuid}/${streamUuid} at version ${version}`,
    { sourceUuid, streamUuid, version },
  );
}

/**
 * A snapshot is deleted by its exact version. Version 0 means the latest only when reading: a delete of "the latest"
 * repeated after a lost answer would delete the one before it too.
 */
export function snapshotDeleteNeedsVersion(): InvalidArgumentError {
  return new InvalidArgumentError('version', 'must be >= 1 to delete a snapshot (0, the latest, is for reads only)');
}

/**
 * A write whose commit failed in a way that may still have left it on disk (a failed fsync): nobody can tell the caller
 * that nothing was written. `data.outcome` is `'unknown'`; a failure known to have written nothing never carries it.
 * `what` names the write (`append`, `deletion of stream 's'`).
 */
export function outcomeUnknown(what: string, cause: unknown): UnavailableError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new UnavailableError(
    `${what}: outcome unknown (${reason}); it may or may not have been written: read before repeating it ` +
      '(an append repeated with the same event ids is written once)',
    { outcome: 'unknown' },
    { cause },
  );
}

/** Whether `err` is an `outcomeUnknown` error. */
export function isOutcomeUnknown(err: unknown): boolean {
  return err instanceof GaterError && err.data['outcome'] === 'unknown';
}

/** No subscription of that name. */
export function subscriptionNotFound(name: string): NotFoundError {
  return new NotFoundError(`subscription '${name}'`, { name });
}

/**
 * A subscription of that name exists with another definition; `difference` names what the stored one has instead
 * (`type by_stream and selector "a"`, `startFrom 0 and options {...}`).
 */
export function subscriptionConflict(name: string, difference: string): GaterError {
  return new GaterError('conflict', `subscription '${name}' already exists with ${difference}`, { name });
}

/** The store was written by a newer gater, whose schema this one must not touch. */
export function schemaTooNew(storeId: string, found: number, understood: number): UnavailableError {
  return new UnavailableError(`store '${storeId}' has schema version ${found}, newer than this gater understands (${understood})`, {
    storeId,
  });
}
